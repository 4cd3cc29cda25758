/* test_conformance.c -- the zip and plist readers against the conformance
 * vectors in tests/fixtures/conformance, which make_conformance.py writes with
 * Python's zipfile and plistlib, Info-ZIP's zip and libarchive's bsdtar (byte
 * edits where a vector needs a defect).  Each vector has one line in expected.tsv:
 *
 *   PATH <TAB> ok|refused <TAB> DETAIL <TAB> WHY
 *
 *   zip/     `macvm ipsw --json`: ok = exit 0 with every space-separated DETAIL
 *            fragment in the JSON; refused = exit 65, one line naming the file
 *            and containing DETAIL.
 *   big/     archives at the 32-bit boundaries (over 4 GiB, or with 4 GiB of
 *            zeros deflated) kept as recipes of their non-zero blocks: rebuilt,
 *            sparse, in a temporary folder, then as zip/.
 *   plist/   plist_read_file: ok = the tree as compact JSON is exactly DETAIL
 *            (what Python's plistlib reads); refused = EX_DATAERR, message
 *            containing DETAIL.
 *
 * Uses t_expect_refused and t_pwrite_all of test_ipsw.c and the bundle
 * helpers of test_vm_common.c (one translation unit: tests/unit.c). */
#include "test_vm_common.c"

struct tc_row {
    const char *path, *outcome, *detail, *why;
};

/* Reads expected.tsv.  Returns the rows (free them and *text). */
static struct tc_row *tc_rows(size_t *n, char **text)
{
    char *path = fixture("conformance/expected.tsv");
    size_t len;
    *text = (char *)t_read_file(path, &len);
    free(path);
    struct tc_row *rows = NULL;
    *n = 0;
    for (char *save, *line = strtok_r(*text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        struct tc_row r;
        const char **field[] = {&r.path, &r.outcome, &r.detail, &r.why};
        char *p = line;
        for (size_t f = 0; f < 4; f++) {
            *field[f] = p;
            char *tab = strchr(p, '\t');
            cr_assert(tab || f == 3, "expected.tsv: a line without 4 fields: %s", line);
            if (tab) {
                *tab = 0;
                p = tab + 1;
            }
        }
        cr_assert(strcmp(r.outcome, "ok") == 0 || strcmp(r.outcome, "refused") == 0, "%s: outcome %s", r.path,
                  r.outcome);
        rows = realloc(rows, (*n + 1) * sizeof *rows);
        cr_assert(rows);
        rows[(*n)++] = r;
    }
    cr_assert_gt(*n, 0, "expected.tsv is empty");
    return rows;
}

static bool tc_in(const struct tc_row *r, const char *dir)
{
    return strncmp(r->path, dir, strlen(dir)) == 0;
}

/* Runs `macvm ipsw --json path` and checks the row's outcome. */
static void tc_check_ipsw(const struct tc_row *row, const char *path)
{
    struct proc_result r = run_macvm("ipsw", "--json", path, NULL);
    if (strcmp(row->outcome, "refused") == 0) {
        t_expect_refused(&r, path, T_EX_DATAERR, row->path);
        cr_expect(strstr(r.err, row->detail), "%s (%s): the message lacks \"%s\": %s", row->path, row->why,
                  row->detail, r.err);
    } else {
        cr_expect_eq(r.status, 0, "%s (%s): exit %d: %s", row->path, row->why, r.status, r.err);
        cr_expect_eq(r.err_len, 0, "%s: stderr should be empty: %s", row->path, r.err);
        char detail[512];
        snprintf(detail, sizeof detail, "%s", row->detail);
        for (char *save, *frag = strtok_r(detail, " ", &save); frag; frag = strtok_r(NULL, " ", &save))
            cr_expect(strstr(r.out, frag), "%s (%s): the JSON lacks %s: %s", row->path, row->why, frag, r.out);
    }
    proc_result_free(&r);
}

Test(conformance, zip_vectors)
{
    size_t n, seen = 0;
    char *text;
    struct tc_row *rows = tc_rows(&n, &text);
    for (size_t i = 0; i < n; i++) {
        if (!tc_in(&rows[i], "zip/"))
            continue;
        char rel[512];
        snprintf(rel, sizeof rel, "conformance/%s", rows[i].path);
        char *path = fixture(rel);
        tc_check_ipsw(&rows[i], path);
        free(path);
        seen++;
    }
    cr_expect_geq(seen, 10, "only %zu zip vectors", seen);
    free(rows);
    free(text);
}

/* Writes a parsed tree as JSON, to compare with the expected value.
 * (macvm itself writes no plist tree back out.) */
static void tc_plist_to_json(struct json *j, const char *key, const struct plist *v)
{
    if (j->depth >= JSON_MAX_DEPTH - 1) {
        json_null(j, key);
        return;
    }
    switch (v->type) {
    case PLIST_DICT:
    case PLIST_ARRAY:
        json_open(j, key, v->type == PLIST_DICT ? '{' : '[');
        for (size_t i = 0; i < v->count; i++)
            tc_plist_to_json(j, v->type == PLIST_DICT ? v->keys[i] : NULL, v->items[i]);
        json_close(j, v->type == PLIST_DICT ? '}' : ']');
        break;
    case PLIST_STRING:
        json_str(j, key, v->string);
        break;
    case PLIST_INTEGER:
        json_member(j, key);
        buf_printf(j->out, "%s%" PRIu64, v->negative ? "-" : "", v->magnitude);
        break;
    case PLIST_REAL:
    case PLIST_DATE:
        json_member(j, key);
        buf_printf(j->out, "%.17g", isfinite(v->real) ? v->real : 0.0);
        break;
    case PLIST_BOOL:
        json_bool(j, key, v->boolean);
        break;
    case PLIST_DATA:
    case PLIST_NULL:
        json_null(j, key);
        break;
    }
}

Test(conformance, plist_vectors)
{
    size_t n, seen = 0;
    char *text;
    struct tc_row *rows = tc_rows(&n, &text);
    for (size_t i = 0; i < n; i++) {
        const struct tc_row *row = &rows[i];
        if (!tc_in(row, "plist/"))
            continue;
        char rel[512];
        snprintf(rel, sizeof rel, "conformance/%s", row->path);
        char *path = fixture(rel);
        struct arena a = {0};
        struct error e = {0};
        struct plist *root = plist_read_file(path, 1 << 20, &a, &e);
        if (strcmp(row->outcome, "refused") == 0) {
            cr_expect_null(root, "%s (%s): read, but should be refused", row->path, row->why);
            cr_expect_eq(e.code, EX_DATAERR, "%s: code %d", row->path, e.code);
            cr_expect(strstr(e.text, row->detail), "%s: the message lacks \"%s\": %s", row->path, row->detail,
                      e.text);
        } else {
            cr_expect(root, "%s (%s): refused: %s", row->path, row->why, e.text);
            if (root) {
                struct buf b = {0};
                struct json j = {.out = &b};
                tc_plist_to_json(&j, NULL, root);
                buf_add(&b, "", 1);
                cr_expect_str_eq(b.data, row->detail, "%s (%s)", row->path, row->why);
                buf_free(&b);
            }
        }
        arena_free(&a);
        free(path);
        seen++;
    }
    cr_expect_geq(seen, 40, "only %zu plist vectors", seen);
    free(rows);
    free(text);
}

static uint64_t tc_le64(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

/* Rebuilds the archive of a sparse recipe (see make_conformance.py) at path:
 * every run of bytes written where it belongs, the rest a hole.  Returns 0,
 * or the errno of a file system that cannot hold it. */
static int tc_rebuild(const char *recipe, const char *path, uint64_t *size)
{
    size_t len;
    unsigned char *rec = t_read_file(recipe, &len);
    static const char magic[] = "macvm-sparse 1\n";
    cr_assert(len > 31 && memcmp(rec, magic, 15) == 0, "%s: not a sparse recipe", recipe);
    *size = tc_le64(rec + 15);
    uLongf raw_len = (uLongf)tc_le64(rec + 23);
    cr_assert(raw_len < 64u << 20, "%s: a recipe of %lu bytes", recipe, (unsigned long)raw_len);
    unsigned char *raw = malloc(raw_len ? raw_len : 1);
    cr_assert(raw);
    cr_assert_eq(uncompress(raw, &raw_len, rec + 31, (uLong)(len - 31)), Z_OK, "%s: bad zlib data", recipe);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    cr_assert(fd >= 0, "open %s: %s", path, strerror(errno));
    int err = ftruncate(fd, (off_t)*size) == 0 ? 0 : errno;
    for (size_t p = 0; !err && p < raw_len;) {
        cr_assert(raw_len - p >= 16, "%s: a cut record", recipe);
        uint64_t off = tc_le64(raw + p), n = tc_le64(raw + p + 8);
        cr_assert(n <= raw_len - p - 16 && off + n <= *size, "%s: a record out of bounds", recipe);
        err = t_pwrite_all(fd, raw + p + 16, (size_t)n, (off_t)off);
        p += 16 + (size_t)n;
    }
    close(fd);
    free(raw);
    free(rec);
    return err;
}

/* Every archive that Info-ZIP, libarchive and zipfile write at the 32-bit
 * boundaries (over 4 GiB, or holding an entry over 4 GiB): macvm ipsw reads
 * its manifest. */
Test(conformance, archives_over_4_gib, .init = t_tmp_init, .fini = t_tmp_fini)
{
    size_t n, seen = 0;
    char *text;
    struct tc_row *rows = tc_rows(&n, &text);
    for (size_t i = 0; i < n; i++) {
        if (!tc_in(&rows[i], "big/"))
            continue;
        char rel[512];
        snprintf(rel, sizeof rel, "conformance/%s", rows[i].path);
        char *recipe = fixture(rel), *path = t_path_join(t_tmp, "big.ipsw");
        uint64_t size;
        int err = tc_rebuild(recipe, path, &size);
        if (err == EFBIG || err == ENOSPC || err == EDQUOT)
            cr_skip_test("this file system cannot hold a sparse %" PRIu64 "-byte file: %s", size, strerror(err));
        cr_assert_eq(err, 0, "%s: %s", rows[i].path, strerror(err));
        tc_check_ipsw(&rows[i], path);
        remove(path);
        free(path);
        free(recipe);
        seen++;
    }
    cr_expect_eq(seen, 18, "%zu archives, want the 6 layouts of Info-ZIP, libarchive and zipfile", seen);
    free(rows);
    free(text);
}

/* Every vector in the folder has its expected outcome, and every row its file. */
Test(conformance, every_vector_is_listed)
{
    size_t n;
    char *text;
    struct tc_row *rows = tc_rows(&n, &text);
    static const char *const dirs[] = {"zip", "plist", "big"};
    size_t files = 0;
    for (size_t d = 0; d < sizeof dirs / sizeof *dirs; d++) {
        char rel[64];
        snprintf(rel, sizeof rel, "conformance/%s", dirs[d]);
        char *dir = fixture(rel);
        DIR *dp = opendir(dir);
        cr_assert(dp, "opendir %s: %s", dir, strerror(errno));
        for (struct dirent *de; (de = readdir(dp));) {
            if (de->d_name[0] == '.')
                continue;
            char want[512];
            snprintf(want, sizeof want, "%s/%s", dirs[d], de->d_name);
            bool listed = false;
            for (size_t i = 0; i < n && !listed; i++)
                listed = strcmp(rows[i].path, want) == 0;
            cr_expect(listed, "%s has no line in expected.tsv", want);
            files++;
        }
        closedir(dp);
        free(dir);
    }
    cr_expect_eq(files, n, "%zu files, %zu lines in expected.tsv", files, n);
    free(rows);
    free(text);
}

/* A Config.plist that an editor saved with a byte-order mark and that someone
 * commented: macvm info reads it as plutil would. */
Test(conformance, info_reads_config_with_bom_and_comments, .init = vt_init, .fini = t_tmp_fini)
{
    char *b = vt_bundle(t_tmp, "Edited.bundle", "configured", 8 * VT_GIB);
    char *src = fixture("conformance/plist/Config-bom-comments.plist"), *dst = t_path_join(b, "Config.plist");
    size_t len;
    unsigned char *data = t_read_file(src, &len);
    cr_assert(len > 3 && memcmp(data, "\xEF\xBB\xBF", 3) == 0 && strstr((char *)data, "<!--"),
              "the fixture has no BOM or no comment");
    cr_assert_eq(t_write_file(dst, data, len), 0);
    struct proc_result r = run_macvm("info", "--json", b, NULL);
    const struct plist *j = vt_expect_json_ok(&r, "info --json");
    cr_expect_eq(r.err_len, 0, "stderr should be empty: %s", r.err);
    vt_json_uint(j, "config.cpu_count", 4, r.out);
    vt_json_uint(j, "config.memory_bytes", 8 * VT_GIB, r.out);
    vt_json_str(j, "config.mac_address", "8a:2c:11:de:ad:01", r.out);
    static const char *const none[] = {NULL};
    vt_json_strings(j, "config.defaults", none, r.out);
    proc_result_free(&r);
    free(data);
    free(src);
    free(dst);
    free(b);
}
