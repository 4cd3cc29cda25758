/* fuzz_json.c -- libFuzzer target for the log reader: ndjson, JSON-array and
 * text styles through log_scan_fd, and the JSON reader it uses (also the one
 * that reads run.json).  The reader's block and record limits are made small
 * (16 KiB and 4 KiB), so inputs of a few KiB reach the code at their edges:
 * a record across two blocks, a record too long to keep. */
#define MACVM_TEST 1
#define LOG_RECORD_MAX (4u << 10)
#define LOG_BLOCK (16u << 10)
#include "../../macvm.c"
#include <sys/mman.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void count_event(void *ctx, const struct log_event *ev)
{
    struct pvg_negotiation n;
    *(size_t *)ctx += strlen(ev->timestamp) + strlen(ev->message);
    pvg_parse_negotiation(ev, &n);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int fd = -1;   /* a file in memory: truncating one on disk per input made the disk the bound */
    if (fd < 0 && (fd = memfd_create("macvm-fuzz-log", 0)) < 0)
        abort();
    if (ftruncate(fd, 0) != 0 || pwrite(fd, data, size, 0) != (ssize_t)size || lseek(fd, 0, SEEK_SET) != 0)
        abort();
    size_t total = 0;
    struct log_scan all = {.fn = count_event, .ctx = &total}, pvg = {.needle = PVG_NEEDLE, .fn = count_event, .ctx = &total};
    struct error e = {0};
    if (log_scan_fd(&all, fd, &e) != 0 || lseek(fd, 0, SEEK_SET) != 0 || log_scan_fd(&pvg, fd, &e) != 0)
        abort();
    if (pvg.stats.events > all.stats.events)
        abort();   /* the needle only ever narrows what is parsed */
    struct arena a = {0};
    json_parse((const char *)data, size, &a, NULL);
    arena_free(&a);
    return 0;
}
