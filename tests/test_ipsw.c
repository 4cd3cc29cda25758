/* test_ipsw.c -- black-box tests of `macvm ipsw FILE [--json]` (run through
 * run_macvm, i.e. the built ./macvm or $MACVM_BIN).
 *
 * Contract under test:
 *   - `macvm ipsw FILE --json`: exit 0, one JSON object on one line, compact
 *     (no space after ':' or ','), keys file, product_version, build,
 *     supported_product_types, virtual_machine {supported, min_host_os,
 *     min_cpu_count, min_memory_mb (null without a VM identity)},
 *     mobile_device_min_version (or null), size_bytes, entries.
 *   - without --json: readable lines with version, build, VirtualMac2,1, minimums.
 *   - damaged input: exit 65; missing file or a directory: exit 66; then stdout
 *     is empty and stderr is exactly one line starting "macvm: " that names
 *     the file.  Never a crash (status < 128).
 * Fixtures: tests/fixtures/make_fixtures.py.  Made here at run time: copies of
 * macOS-14.5-vm.ipsw truncated at every record boundary, and a sparse Zip64
 * image over 4 GiB.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#define T_EX_DATAERR 65
#define T_EX_NOINPUT 66

/* What every refusal must look like. */
static void t_expect_refused(const struct proc_result *r, const char *path, int code, const char *what)
{
    cr_assert_neq(r->status, -1, "%s: macvm did not run: %s", what, r->err);
    cr_expect(r->status < 128, "%s: crashed (status %d); stderr: %s", what, r->status, r->err);
    cr_expect_eq(r->status, code, "%s: exit %d, want %d; stderr: %s", what, r->status, code, r->err);
    cr_expect_eq(r->out_len, 0, "%s: stdout should be empty, got: %s", what, r->out);
    cr_expect_eq(count_lines(r->err), 1, "%s: stderr should be one line, got %d: %s", what,
                 count_lines(r->err), r->err);
    cr_expect(r->err_len > 0 && r->err[r->err_len - 1] == '\n', "%s: stderr should end in a newline: %s",
              what, r->err);
    cr_expect(strncmp(r->err, "macvm: ", 7) == 0, "%s: stderr should start \"macvm: \": %s", what, r->err);
    cr_expect(strstr(r->err, path) != NULL, "%s: stderr should name %s: %s", what, path, r->err);
    const char *todo = code == T_EX_NOINPUT ? "; name a restore image (.ipsw) file" : "; download the image again";
    cr_expect(strstr(r->err, todo) != NULL, "%s: stderr should say what to do (%s): %s", what, todo, r->err);
}

static void t_expect_has(const struct proc_result *r, const char *needle, const char *what)
{
    cr_expect(strstr(r->out, needle) != NULL, "%s: stdout lacks %s; stdout: %s", what, needle, r->out);
}

static long long t_file_size(const char *path)
{
    struct stat st;
    cr_assert_eq(stat(path, &st), 0, "stat %s: %s", path, strerror(errno));
    return (long long)st.st_size;
}

/* Runs `macvm ipsw PATH --json`, checks the shape common to every good image and
 * the file/size_bytes/entries values; the caller checks the rest and frees. */
static struct proc_result t_ipsw_json_ok(const char *path, int entries)
{
    struct proc_result r = run_macvm("ipsw", path, "--json", NULL);
    cr_assert(r.status >= 0 && r.status < 128, "%s: crashed (status %d); stderr: %s", path, r.status, r.err);
    cr_assert_eq(r.status, 0, "%s: exit %d; stderr: %s", path, r.status, r.err);
    cr_expect_eq(r.err_len, 0, "%s: stderr should be empty: %s", path, r.err);
    cr_expect_eq(count_lines(r.out), 1, "%s: want one line of JSON, got %d: %s", path, count_lines(r.out), r.out);
    cr_expect(r.out_len > 2 && r.out[0] == '{', "%s: not a JSON object: %s", path, r.out);
    size_t n = r.out_len;
    while (n && (r.out[n - 1] == '\n' || r.out[n - 1] == '\r'))
        n--;
    cr_expect(n && r.out[n - 1] == '}', "%s: not a JSON object: %s", path, r.out);

    char want[4096];
    snprintf(want, sizeof want, "\"file\":\"%s\"", path);
    t_expect_has(&r, want, path);
    snprintf(want, sizeof want, "\"size_bytes\":%lld", t_file_size(path));
    t_expect_has(&r, want, path);
    snprintf(want, sizeof want, "\"entries\":%d", entries);
    t_expect_has(&r, want, path);
    t_expect_has(&r, "\"supported_product_types\":[", path);
    t_expect_has(&r, "\"virtual_machine\":{", path);
    return r;
}

Test(ipsw, macos_14_5_zip64_json)
{
    char *path = fixture("ipsw/macOS-14.5-vm.ipsw");
    struct proc_result r = t_ipsw_json_ok(path, 7);
    t_expect_has(&r, "\"product_version\":\"14.5\"", path);
    t_expect_has(&r, "\"build\":\"23F79\"", path);
    t_expect_has(&r, "\"VirtualMac2,1\"", path);
    t_expect_has(&r, "\"MacBookPro18,3\"", path);
    t_expect_has(&r, "\"supported\":true", path);
    t_expect_has(&r, "\"min_host_os\":\"13.0.0\"", path);
    t_expect_has(&r, "\"min_cpu_count\":2", path);
    t_expect_has(&r, "\"min_memory_mb\":4096", path);
    t_expect_has(&r, "\"mobile_device_min_version\":\"1784.120.3\"", path);
    cr_expect(strstr(r.out, ": ") == NULL && strstr(r.out, ", ") == NULL,
              "JSON should be compact: %s", r.out);
    proc_result_free(&r);
    free(path);
}

Test(ipsw, json_option_before_file)
{
    char *path = fixture("ipsw/macOS-14.5-vm.ipsw");
    struct proc_result r = run_macvm("ipsw", "--json", path, NULL);
    cr_assert_eq(r.status, 0, "exit %d; stderr: %s", r.status, r.err);
    t_expect_has(&r, "\"product_version\":\"14.5\"", path);
    t_expect_has(&r, "\"min_memory_mb\":4096", path);
    proc_result_free(&r);
    free(path);
}

Test(ipsw, macos_14_5_text)
{
    char *path = fixture("ipsw/macOS-14.5-vm.ipsw");
    struct proc_result r = run_macvm("ipsw", path, NULL);
    cr_assert_eq(r.status, 0, "exit %d; stderr: %s", r.status, r.err);
    cr_expect_eq(r.err_len, 0, "stderr should be empty: %s", r.err);
    cr_expect(count_lines(r.out) >= 3, "want several lines: %s", r.out);
    cr_expect(r.out[0] != '{', "text output should not be JSON: %s", r.out);
    t_expect_has(&r, "14.5", path);
    t_expect_has(&r, "23F79", path);
    t_expect_has(&r, "VirtualMac2,1", path);
    t_expect_has(&r, "13.0.0", path);
    t_expect_has(&r, "4096", path);
    proc_result_free(&r);
    free(path);
}

Test(ipsw, macos_15_0_stored_manifest)
{
    char *path = fixture("ipsw/macOS-15.0-vm-stored.ipsw");
    struct proc_result r = t_ipsw_json_ok(path, 5);
    t_expect_has(&r, "\"product_version\":\"15.0\"", path);
    t_expect_has(&r, "\"build\":\"24A335\"", path);
    t_expect_has(&r, "\"supported\":true", path);
    t_expect_has(&r, "\"min_host_os\":\"14.0.0\"", path);
    t_expect_has(&r, "\"min_cpu_count\":4", path);
    t_expect_has(&r, "\"min_memory_mb\":8192", path);
    t_expect_has(&r, "\"mobile_device_min_version\":\"1813.2.1\"", path);
    proc_result_free(&r);

    r = run_macvm("ipsw", path, NULL);
    cr_expect_eq(r.status, 0, "text: exit %d; stderr: %s", r.status, r.err);
    t_expect_has(&r, "15.0", path);
    t_expect_has(&r, "24A335", path);
    t_expect_has(&r, "14.0.0", path);
    t_expect_has(&r, "8192", path);
    proc_result_free(&r);
    free(path);
}

Test(ipsw, macos_13_0_plain_zip)
{
    char *path = fixture("ipsw/macOS-13.0-vm-plain.ipsw");
    struct proc_result r = t_ipsw_json_ok(path, 4);
    t_expect_has(&r, "\"product_version\":\"13.0\"", path);
    t_expect_has(&r, "\"build\":\"22A380\"", path);
    t_expect_has(&r, "\"supported\":true", path);
    t_expect_has(&r, "\"min_host_os\":\"12.0.0\"", path);
    t_expect_has(&r, "\"min_cpu_count\":2", path);
    t_expect_has(&r, "\"min_memory_mb\":4096", path);
    t_expect_has(&r, "\"mobile_device_min_version\":\"1643.1.1\"", path);
    proc_result_free(&r);
    free(path);
}

Test(ipsw, ios_image_is_not_for_vms)
{
    char *path = fixture("ipsw/iOS-not-vm.ipsw");
    struct proc_result r = t_ipsw_json_ok(path, 4);
    t_expect_has(&r, "\"product_version\":\"17.5\"", path);
    t_expect_has(&r, "\"build\":\"21F79\"", path);
    t_expect_has(&r, "\"supported_product_types\":[\"iPhone15,4\",\"iPhone15,5\"]", path);
    t_expect_has(&r, "\"supported\":false", path);
    t_expect_has(&r, "\"min_host_os\":null", path);
    t_expect_has(&r, "\"min_cpu_count\":null", path);
    t_expect_has(&r, "\"min_memory_mb\":null", path);
    t_expect_has(&r, "\"mobile_device_min_version\":null", path);
    cr_expect(strstr(r.out, "VirtualMac") == NULL, "no VirtualMac here: %s", r.out);
    proc_result_free(&r);

    r = run_macvm("ipsw", path, NULL);
    cr_expect_eq(r.status, 0, "text: exit %d; stderr: %s", r.status, r.err);
    t_expect_has(&r, "17.5", path);
    proc_result_free(&r);
    free(path);
}

/* The path is printed as given, JSON-escaped. */
Test(ipsw, json_escapes_the_path, .init = t_tmp_init, .fini = t_tmp_fini)
{
    char *src = fixture("ipsw/macOS-14.5-vm.ipsw");
    size_t len;
    unsigned char *data = t_read_file(src, &len);
    const char *dir = t_tmp;
    char *path = t_path_join(dir, "we\"ird\\name\t.ipsw");
    cr_assert_eq(t_write_file(path, data, len), 0);
    struct proc_result r = run_macvm("ipsw", path, "--json", NULL);
    cr_expect_eq(r.status, 0, "exit %d; stderr: %s", r.status, r.err);
    char want[4096];
    snprintf(want, sizeof want, "\"file\":\"%s/we\\\"ird\\\\name\\t.ipsw\"", dir);
    t_expect_has(&r, want, path);
    proc_result_free(&r);
    free(path);
    free(data);
    free(src);
}

static const char *const t_hostile_ipsws[] = {
    "not-a-zip.ipsw",   "empty.ipsw",          "no-manifest.ipsw",     "manifest-not-plist.ipsw",
    "bomb.ipsw",        "bomb-lying.ipsw",     "bad-crc.ipsw",         "offset-outside.ipsw",
    "offset-huge.ipsw", "size-outside.ipsw",   "size-huge.ipsw",       "cd-outside.ipsw",
    "locator-outside.ipsw", "truncated-eocd.ipsw",
};

Test(ipsw, hostile_archives_are_refused)
{
    for (size_t i = 0; i < sizeof t_hostile_ipsws / sizeof *t_hostile_ipsws; i++) {
        char rel[256];
        snprintf(rel, sizeof rel, "hostile/%s", t_hostile_ipsws[i]);
        char *path = fixture(rel);
        struct proc_result r = run_macvm("ipsw", path, "--json", NULL);
        t_expect_refused(&r, path, T_EX_DATAERR, t_hostile_ipsws[i]);
        proc_result_free(&r);
        r = run_macvm("ipsw", path, NULL);
        t_expect_refused(&r, path, T_EX_DATAERR, t_hostile_ipsws[i]);
        proc_result_free(&r);
        free(path);
    }
}

/* Every hostile .ipsw that make_fixtures.py writes is in the list above. */
Test(ipsw, every_hostile_archive_is_listed)
{
    char *dir = fixture("hostile");
    DIR *d = opendir(dir);
    cr_assert(d != NULL, "opendir %s: %s", dir, strerror(errno));
    for (struct dirent *de; (de = readdir(d)) != NULL;) {
        size_t n = strlen(de->d_name);
        if (n < 5 || strcmp(de->d_name + n - 5, ".ipsw") != 0)
            continue;
        bool listed = false;
        for (size_t i = 0; i < sizeof t_hostile_ipsws / sizeof *t_hostile_ipsws; i++)
            listed |= strcmp(de->d_name, t_hostile_ipsws[i]) == 0;
        cr_expect(listed, "hostile/%s is not in t_hostile_ipsws", de->d_name);
    }
    closedir(d);
    free(dir);
}

Test(ipsw, missing_file_or_directory_is_noinput)
{
    char *path = fixture("ipsw/does-not-exist.ipsw");
    struct proc_result r = run_macvm("ipsw", path, "--json", NULL);
    t_expect_refused(&r, path, T_EX_NOINPUT, "missing file");
    proc_result_free(&r);
    free(path);

    path = fixture("ipsw");
    r = run_macvm("ipsw", path, "--json", NULL);
    t_expect_refused(&r, path, T_EX_NOINPUT, "directory");
    proc_result_free(&r);
    free(path);
}

/* ---- truncation at every record boundary ---- */

static bool t_is_record(const unsigned char *p)
{
    if (p[0] != 'P' || p[1] != 'K')
        return false;
    return (p[2] == 3 && p[3] == 4) || (p[2] == 1 && p[3] == 2) || (p[2] == 6 && p[3] == 6) ||
           (p[2] == 6 && p[3] == 7) || (p[2] == 5 && p[3] == 6);
}

static void t_expect_cut_refused(const char *dir, const unsigned char *data, size_t cut)
{
    char name[64];
    snprintf(name, sizeof name, "cut-%zu.ipsw", cut);
    char *path = t_path_join(dir, name);
    cr_assert_eq(t_write_file(path, data, cut), 0, "write %s", path);
    struct proc_result r = run_macvm("ipsw", path, "--json", NULL);
    char what[96];
    snprintf(what, sizeof what, "cut at %zu", cut);
    t_expect_refused(&r, path, T_EX_DATAERR, what);
    proc_result_free(&r);
    remove(path);
    free(path);
}

Test(ipsw, truncated_at_every_record_boundary, .init = t_tmp_init, .fini = t_tmp_fini)
{
    char *src = fixture("ipsw/macOS-14.5-vm.ipsw");
    size_t len;
    unsigned char *data = t_read_file(src, &len);
    const char *dir = t_tmp;
    size_t records = 0;
    for (size_t o = 0; o + 4 <= len; o++) {
        if (!t_is_record(data + o))
            continue;
        records++;
        for (size_t d = 0; d < 4 && o + d < len; d++)
            t_expect_cut_refused(dir, data, o + d);
    }
    /* 7 local headers, 7 central-directory entries, Zip64 EOCD, locator, EOCD */
    cr_expect_eq(records, 17, "the fixture changed: %zu records", records);
    free(data);
    free(src);
}

/* The 22-byte end record short by one or two bytes. */
Test(ipsw, end_record_short_by_a_byte, .init = t_tmp_init, .fini = t_tmp_fini)
{
    char *src = fixture("ipsw/macOS-14.5-vm.ipsw");
    size_t len;
    unsigned char *data = t_read_file(src, &len);
    const char *dir = t_tmp;
    t_expect_cut_refused(dir, data, len - 1);
    t_expect_cut_refused(dir, data, len - 2);
    free(data);
    free(src);
}

/* ---- a sparse Zip64 image over 4 GiB, written record by record ---- */

static void t_le(unsigned char **p, uint64_t v, int bytes)
{
    for (int i = 0; i < bytes; i++)
        *(*p)++ = (unsigned char)(v >> (8 * i));
}

static uint64_t t_get(const unsigned char *p, int bytes)
{
    uint64_t v = 0;
    for (int i = bytes - 1; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

static int t_pwrite_all(int fd, const void *buf, size_t n, off_t at)
{
    const char *p = buf;
    while (n) {
        ssize_t w = pwrite(fd, p, n, at);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return errno;
        }
        p += w;
        n -= (size_t)w;
        at += w;
    }
    return 0;
}

/* Finds BuildManifest.plist's local header in the fixture (written by zipfile with
 * a Zip64 extra holding both sizes); returns its offset and sets the fields. */
static size_t t_find_manifest_local(const unsigned char *d, size_t len, size_t *total, uint16_t *method,
                                    uint32_t *crc, uint64_t *csize, uint64_t *usize)
{
    static const char name[] = "BuildManifest.plist";
    for (size_t o = 0; o + 30 <= len; o++) {
        if (memcmp(d + o, "PK\3\4", 4) != 0)
            continue;
        size_t nlen = t_get(d + o + 26, 2), xlen = t_get(d + o + 28, 2);
        if (nlen != sizeof name - 1 || o + 30 + nlen + xlen > len || memcmp(d + o + 30, name, nlen) != 0)
            continue;
        *method = (uint16_t)t_get(d + o + 8, 2);
        *crc = (uint32_t)t_get(d + o + 14, 4);
        *csize = t_get(d + o + 18, 4);
        *usize = t_get(d + o + 22, 4);
        const unsigned char *x = d + o + 30 + nlen, *end = x + xlen;
        while (x + 4 <= end) {
            size_t tag = t_get(x, 2), sz = t_get(x + 2, 2);
            if (tag == 1 && sz >= 16 && x + 4 + 16 <= end) {
                *usize = t_get(x + 4, 8);
                *csize = t_get(x + 12, 8);
            }
            x += 4 + sz;
        }
        cr_assert(*csize < len, "manifest sizes in the fixture");
        *total = 30 + nlen + xlen + *csize;
        cr_assert(o + *total <= len, "manifest data inside the fixture");
        return o;
    }
    cr_assert_fail("no BuildManifest.plist local header in the fixture");
    return 0;
}

Test(ipsw, sparse_zip64_over_4gib, .init = t_tmp_init, .fini = t_tmp_fini)
{
    enum { DOS_TIME = 9 << 11 | 41 << 5, DOS_DATE = 44 << 9 | 5 << 5 | 13 };
    const uint64_t big = 5ULL << 30;           /* 5 GiB stored entry, all hole */
    const uint32_t big_crc = 0x193838c3;       /* CRC-32 of 5 GiB of zeros (zlib.crc32) */
    static const char big_name[] = "096-99999-999.dmg";
    static const char man_name[] = "BuildManifest.plist";

    char *src = fixture("ipsw/macOS-14.5-vm.ipsw");
    size_t len;
    unsigned char *d = t_read_file(src, &len);
    size_t man_len;
    uint16_t method;
    uint32_t crc;
    uint64_t csize, usize;
    size_t man_at = t_find_manifest_local(d, len, &man_len, &method, &crc, &csize, &usize);

    const char *dir = t_tmp;
    char *path = t_path_join(dir, "big.ipsw");
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    cr_assert(fd >= 0, "open %s: %s", path, strerror(errno));

    unsigned char rec[512], *p;
    /* local header of the big entry, Zip64 extra with both sizes */
    p = rec;
    t_le(&p, 0x04034b50, 4), t_le(&p, 45, 2), t_le(&p, 0, 2), t_le(&p, 0, 2);
    t_le(&p, DOS_TIME, 2), t_le(&p, DOS_DATE, 2), t_le(&p, big_crc, 4);
    t_le(&p, 0xFFFFFFFF, 4), t_le(&p, 0xFFFFFFFF, 4), t_le(&p, sizeof big_name - 1, 2), t_le(&p, 20, 2);
    memcpy(p, big_name, sizeof big_name - 1), p += sizeof big_name - 1;
    t_le(&p, 1, 2), t_le(&p, 16, 2), t_le(&p, big, 8), t_le(&p, big, 8);
    int err = t_pwrite_all(fd, rec, (size_t)(p - rec), 0);
    uint64_t man_off = (uint64_t)(p - rec) + big;

    /* BuildManifest.plist's local header and data, copied from the fixture */
    if (!err)
        err = t_pwrite_all(fd, d + man_at, man_len, (off_t)man_off);
    if (err == EFBIG || err == ENOSPC || err == EDQUOT) {
        close(fd);
            cr_skip_test("this file system cannot hold a sparse 5 GiB file: %s", strerror(err));
    }
    cr_assert_eq(err, 0, "write %s: %s", path, strerror(err));
    uint64_t cd_off = man_off + man_len;

    /* central directory */
    p = rec;
    t_le(&p, 0x02014b50, 4), t_le(&p, 3 << 8 | 45, 2), t_le(&p, 45, 2), t_le(&p, 0, 2), t_le(&p, 0, 2);
    t_le(&p, DOS_TIME, 2), t_le(&p, DOS_DATE, 2), t_le(&p, big_crc, 4);
    t_le(&p, 0xFFFFFFFF, 4), t_le(&p, 0xFFFFFFFF, 4), t_le(&p, sizeof big_name - 1, 2), t_le(&p, 20, 2);
    t_le(&p, 0, 2), t_le(&p, 0, 2), t_le(&p, 0, 2), t_le(&p, 0100644u << 16, 4), t_le(&p, 0, 4);
    memcpy(p, big_name, sizeof big_name - 1), p += sizeof big_name - 1;
    t_le(&p, 1, 2), t_le(&p, 16, 2), t_le(&p, big, 8), t_le(&p, big, 8);

    t_le(&p, 0x02014b50, 4), t_le(&p, 3 << 8 | 45, 2), t_le(&p, 45, 2), t_le(&p, 0, 2), t_le(&p, method, 2);
    t_le(&p, DOS_TIME, 2), t_le(&p, DOS_DATE, 2), t_le(&p, crc, 4);
    t_le(&p, 0xFFFFFFFF, 4), t_le(&p, 0xFFFFFFFF, 4), t_le(&p, sizeof man_name - 1, 2), t_le(&p, 28, 2);
    t_le(&p, 0, 2), t_le(&p, 0, 2), t_le(&p, 0, 2), t_le(&p, 0100644u << 16, 4), t_le(&p, 0xFFFFFFFF, 4);
    memcpy(p, man_name, sizeof man_name - 1), p += sizeof man_name - 1;
    t_le(&p, 1, 2), t_le(&p, 24, 2), t_le(&p, usize, 8), t_le(&p, csize, 8), t_le(&p, man_off, 8);
    uint64_t cd_size = (uint64_t)(p - rec);

    /* Zip64 end of central directory, locator, end of central directory */
    uint64_t z64_off = cd_off + cd_size;
    t_le(&p, 0x06064b50, 4), t_le(&p, 44, 8), t_le(&p, 45, 2), t_le(&p, 45, 2), t_le(&p, 0, 4), t_le(&p, 0, 4);
    t_le(&p, 2, 8), t_le(&p, 2, 8), t_le(&p, cd_size, 8), t_le(&p, cd_off, 8);
    t_le(&p, 0x07064b50, 4), t_le(&p, 0, 4), t_le(&p, z64_off, 8), t_le(&p, 1, 4);
    t_le(&p, 0x06054b50, 4), t_le(&p, 0, 2), t_le(&p, 0, 2), t_le(&p, 2, 2), t_le(&p, 2, 2);
    t_le(&p, cd_size, 4), t_le(&p, 0xFFFFFFFF, 4), t_le(&p, 0, 2);
    cr_assert_eq(t_pwrite_all(fd, rec, (size_t)(p - rec), (off_t)cd_off), 0, "write central directory");
    cr_assert_eq(close(fd), 0);

    long long size = t_file_size(path);
    cr_assert_gt(size, 5LL << 30);
    struct proc_result r = t_ipsw_json_ok(path, 2);
    t_expect_has(&r, "\"product_version\":\"14.5\"", path);
    t_expect_has(&r, "\"build\":\"23F79\"", path);
    t_expect_has(&r, "\"supported\":true", path);
    t_expect_has(&r, "\"min_host_os\":\"13.0.0\"", path);
    t_expect_has(&r, "\"min_cpu_count\":2", path);
    t_expect_has(&r, "\"min_memory_mb\":4096", path);
    proc_result_free(&r);

    free(path);
    free(d);
    free(src);
}
