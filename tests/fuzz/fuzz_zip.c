/* fuzz_zip.c -- libFuzzer target for the zip reader and the IPSW inspection
 * (end records, Zip64, central directory, inflate with its bounds, CRC, the
 * manifest's plist).  The input is written to a temporary file because the
 * reader works on a file, as it does on a 20 GB image. */
#define MACVM_TEST 1
#include "../../macvm.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char path[] = "/tmp/macvm-fuzz-zip-XXXXXX";
    static int fd = -1;
    if (fd < 0 && (fd = mkstemp(path)) < 0)
        abort();
    if (ftruncate(fd, 0) != 0 || pwrite(fd, data, size, 0) != (ssize_t)size)
        abort();
    struct ipsw_info info;
    struct error e = {0};
    int rc = ipsw_inspect(path, &info, &e);
    if (rc == 0) {
        struct buf b = {0};
        ipsw_json(&b, path, &info);
        ipsw_text(&b, path, &info, "14.5");
        buf_free(&b);
    } else if (rc != EX_DATAERR && rc != EX_IOERR) {
        abort();   /* a file that exists is either an image or bad data */
    }
    ipsw_free(&info);
    return 0;
}
