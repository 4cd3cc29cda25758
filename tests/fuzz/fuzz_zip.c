/* fuzz_zip.c -- libFuzzer target for the zip reader and the IPSW inspection
 * (end records, Zip64, central directory, inflate with its bounds, CRC, the
 * manifest's plist).  The input is written to a file because the reader
 * works on a file, as it does on a 20 GB image: a file in memory (memfd), since
 * truncating a file on disk for every input makes the disk bound the speed. */
#define MACVM_TEST 1
#include "../../macvm.c"
#include <sys/mman.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char path[64];
    static int fd = -1;
    if (fd < 0) {
        if ((fd = memfd_create("macvm-fuzz-zip", 0)) < 0)
            abort();
        snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    }
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
