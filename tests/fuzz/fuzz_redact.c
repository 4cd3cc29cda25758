/* fuzz_redact.c -- libFuzzer target for the reports' redaction: it never
 * crashes, and redacting what it wrote changes nothing (so a report can be
 * redacted twice, and no placeholder is ever taken for a secret).
 *
 * Input: a first byte of flags, then (flag 1) a line of names separated by
 * commas, then (flag 2) 8 bytes of ECID, then the text.  Without the flags
 * the redaction is Alice Liddell's (login alice, ECID 0xa1b2c3d4e5f60718,
 * home /Users/alice, Mac Alices-MacBook-Pro, VM serial number C02XL0ABHT). */
#define MACVM_TEST 1
#include "../../macvm.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct redaction r = {0};
    uint64_t ecid = 0xa1b2c3d4e5f60718ull;
    const char *names[] = {"alice", "Alice Liddell"};
    for (size_t i = 0; i < 2; i++)
        redaction_add_name(&r, names[i], strlen(names[i]));
    snprintf(r.host, sizeof r.host, "Alices-MacBook-Pro");
    snprintf(r.home, sizeof r.home, "/Users/alice");
    redaction_add_serial(&r, "C02XL0ABHT");
    uint8_t flags = size ? data[0] : 0;
    size_t at = size ? 1 : 0;
    if (flags & 1) {
        const uint8_t *nl = memchr(data + at, '\n', size - at);
        size_t end = nl ? (size_t)(nl - data) : size;
        for (size_t s = at; s < end;) {
            size_t e = s;
            while (e < end && data[e] != ',')
                e++;
            redaction_add_name(&r, (const char *)data + s, strnlen((const char *)data + s, e - s));
            s = e + 1;
        }
        at = nl ? end + 1 : size;
    }
    if ((flags & 2) && size - at >= 8) {
        memcpy(&ecid, data + at, 8);
        at += 8;
    }
    for (size_t i = 0; i < r.n_names; i++)
        redaction_add_host_prefix(&r, r.names[i], strlen(r.names[i]));
    redaction_add_ecid(&r, ecid);

    char *text = xmalloc(size - at + 1);
    memcpy(text, data + at, size - at);
    text[size - at] = 0;
    struct buf once = {0}, twice = {0};
    redact(&once, text, &r);
    redact(&twice, once.data ? once.data : "", &r);
    if (once.len != twice.len || (once.len && memcmp(once.data, twice.data, once.len) != 0)) {
        fprintf(stderr, "not idempotent:\n  in:    %s\n  once:  %s\n  twice: %s\n", text, once.data, twice.data);
        abort();
    }
    buf_free(&once);
    buf_free(&twice);
    free(text);
    return 0;
}
