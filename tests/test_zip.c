/* test_zip.c -- the zip reader's internals: how much it reads of a huge
 * image, and the small utilities the commands share (sizes, versions,
 * progress lines, paths). */

/* Writes a sparse Zip64 image: a stored entry of `hole` bytes that are all
 * hole, then a deflated BuildManifest.plist copied from a fixture, then the
 * central directory with Zip64 extra fields, the Zip64 end record, its
 * locator and the classic end record.  Returns the file's size. */
static uint64_t t_write_sparse_ipsw(const char *path, uint64_t hole)
{
    struct zip z;
    struct zip_entry ent;
    struct error e = {0};
    bool found;
    char *src = fixture("ipsw/macOS-14.5-vm.ipsw");
    cr_assert_eq(zip_open(&z, src, &e), 0, "%s", e.text);
    cr_assert_eq(zip_find(&z, "BuildManifest.plist", &ent, &found, &e), 0);
    cr_assert(found);
    uint8_t local[30];
    cr_assert_eq(zip_read(&z, local, 30, ent.local_offset, "local", &e), 0);
    uint64_t data_off = ent.local_offset + 30 + le16(local + 26) + le16(local + 28);
    uint8_t *data = malloc(ent.compressed);
    cr_assert_eq(zip_read(&z, data, ent.compressed, data_off, "data", &e), 0);

    struct buf b = {0};
    const char *big = "Firmware/big.dmg", *man = "BuildManifest.plist";
    uint8_t h[64];
#define LE(p, v, n) do { for (int k_ = 0; k_ < (n); k_++) (p)[k_] = (uint8_t)((uint64_t)(v) >> (8 * k_)); } while (0)
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
    cr_assert(fd >= 0);
    /* local header of the big entry, with a Zip64 extra field */
    memset(h, 0, sizeof h);
    LE(h, 0x04034b50, 4); LE(h + 4, 45, 2); LE(h + 18, 0xFFFFFFFF, 4); LE(h + 22, 0xFFFFFFFF, 4);
    LE(h + 26, strlen(big), 2); LE(h + 28, 20, 2);
    buf_add(&b, h, 30);
    buf_puts(&b, big);
    memset(h, 0, 20);
    LE(h, 1, 2); LE(h + 2, 16, 2); LE(h + 4, hole, 8); LE(h + 12, hole, 8);
    buf_add(&b, h, 20);
    cr_assert_eq(pwrite(fd, b.data, b.len, 0), (ssize_t)b.len);
    uint64_t big_local = 0, man_local = b.len + hole;
    b.len = 0;
    memset(h, 0, 30);
    LE(h, 0x04034b50, 4); LE(h + 4, 20, 2); LE(h + 8, 8, 2); LE(h + 14, ent.crc, 4);
    LE(h + 18, ent.compressed, 4); LE(h + 22, ent.uncompressed, 4); LE(h + 26, strlen(man), 2);
    buf_add(&b, h, 30);
    buf_puts(&b, man);
    buf_add(&b, data, ent.compressed);
    uint64_t cd_off = man_local + b.len;
    /* central directory: the big entry (all three values in Zip64), then the manifest */
    memset(h, 0, 46);
    LE(h, 0x02014b50, 4); LE(h + 6, 45, 2); LE(h + 20, 0xFFFFFFFF, 4); LE(h + 24, 0xFFFFFFFF, 4);
    LE(h + 28, strlen(big), 2); LE(h + 30, 28, 2); LE(h + 42, 0xFFFFFFFF, 4);
    buf_add(&b, h, 46);
    buf_puts(&b, big);
    memset(h, 0, 28);
    LE(h, 1, 2); LE(h + 2, 24, 2); LE(h + 4, hole, 8); LE(h + 12, hole, 8); LE(h + 20, big_local, 8);
    buf_add(&b, h, 28);
    memset(h, 0, 46);
    LE(h, 0x02014b50, 4); LE(h + 6, 45, 2); LE(h + 10, 8, 2); LE(h + 16, ent.crc, 4);
    LE(h + 20, ent.compressed, 4); LE(h + 24, ent.uncompressed, 4); LE(h + 28, strlen(man), 2);
    LE(h + 30, 12, 2); LE(h + 42, 0xFFFFFFFF, 4);
    buf_add(&b, h, 46);
    buf_puts(&b, man);
    memset(h, 0, 12);
    LE(h, 1, 2); LE(h + 2, 8, 2); LE(h + 4, man_local, 8);
    buf_add(&b, h, 12);
    uint64_t cd_size = man_local + b.len - cd_off, z64 = man_local + b.len;
    memset(h, 0, 56);
    LE(h, 0x06064b50, 4); LE(h + 4, 44, 8); LE(h + 12, 45, 2); LE(h + 14, 45, 2);
    LE(h + 24, 2, 8); LE(h + 32, 2, 8); LE(h + 40, cd_size, 8); LE(h + 48, cd_off, 8);
    buf_add(&b, h, 56);
    memset(h, 0, 20);
    LE(h, 0x07064b50, 4); LE(h + 8, z64, 8); LE(h + 16, 1, 4);
    buf_add(&b, h, 20);
    memset(h, 0, 22);
    LE(h, 0x06054b50, 4); LE(h + 8, 0xFFFF, 2); LE(h + 10, 0xFFFF, 2); LE(h + 12, 0xFFFFFFFF, 4);
    LE(h + 16, 0xFFFFFFFF, 4);
    buf_add(&b, h, 22);
#undef LE
    cr_assert_eq(pwrite(fd, b.data, b.len, (off_t)man_local), (ssize_t)b.len);
    uint64_t size = man_local + b.len;
    close(fd);
    buf_free(&b);
    free(data);
    zip_close(&z);
    free(src);
    return size;
}

/* A 20 GB image is inspected by reading its end records, its central
 * directory and one manifest: a few KiB here, whatever the holes' size. */
Test(zip, inspecting_a_20_gb_image_reads_only_kilobytes, .init = t_tmp_init, .fini = t_tmp_fini)
{
    char *dir = temp_dir(), *path = t_path_join(dir, "huge.ipsw");
    uint64_t size = t_write_sparse_ipsw(path, 20ull << 30);
    struct ipsw_info info;
    struct error e = {0};
    cr_assert_eq(ipsw_inspect(path, &info, &e), 0, "%s", e.text);
    cr_expect_eq(info.size_bytes, size);
    cr_expect_gt(info.size_bytes, 20ull << 30);
    cr_expect_eq(info.entries, 2);
    cr_expect_str_eq(info.product_version, "14.5");
    cr_expect(ipsw_vm_capable(&info));
    cr_expect_lt(info.bytes_read, 256u << 10, "read %" PRIu64 " bytes of a 20 GB image", info.bytes_read);
    ipsw_free(&info);

    struct proc_result r = run_macvm("ipsw", "--json", path, NULL);
    cr_expect_eq(r.status, 0, "%s", r.err);
    char want[64];
    snprintf(want, sizeof want, "\"size_bytes\":%" PRIu64 ",\"entries\":2}", size);
    cr_expect(strstr(r.out, want), "output: %s", r.out);
    proc_result_free(&r);
    free(path);
    free(dir);
}

Test(util, sizes_parse_with_units_and_refuse_nonsense)
{
    uint64_t v;
    cr_expect(parse_size("80G", &v) && v == 80ull << 30);
    cr_expect(parse_size("512M", &v) && v == 512ull << 20);
    cr_expect(parse_size("1T", &v) && v == 1ull << 40);
    cr_expect(parse_size("4GiB", &v) && v == 4ull << 30);
    cr_expect(parse_size("8192k", &v) && v == 8192ull << 10);
    static const char *const bad[] = {"", "G", "12", "12X", "0G", "-1G", "1.5G", "99999999999T", "18446744073709551616K",
                                      "12GG", " 12G", "12 G"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        cr_expect_not(parse_size(bad[i], &v), "accepted '%s'", bad[i]);
}

Test(util, versions_compare_by_number)
{
    cr_expect_eq(version_compare("13.0.0", "13"), 0);
    cr_expect_lt(version_compare("12.6.1", "13.0.0"), 0);
    cr_expect_gt(version_compare("14.10", "14.9"), 0);
    cr_expect_gt(version_compare("1784.120.3", "1784.40.2"), 0);
    cr_expect_lt(version_compare("26", "26.0.1"), 0);
}

Test(util, human_sizes)
{
    char b[32];
    cr_expect_str_eq(human_size(b, sizeof b, 17), "17 bytes");
    cr_expect_str_eq(human_size(b, sizeof b, 64ull << 30), "64 GiB");
    cr_expect_str_eq(human_size(b, sizeof b, 3ull << 29), "1.5 GiB");
    cr_expect_str_eq(human_size(b, sizeof b, (32u << 20) + (16u << 10)), "32.0 MiB");
}

Test(util, progress_line_shows_bytes_rate_and_eta)
{
    struct progress p = {.label = "download", .bytes = true, .start = 100.0};
    char line[256];
    progress_line(line, sizeof line, &p, 3ull << 30, 12ull << 30, 110.0);
    cr_expect(strstr(line, " 25%"), "%s", line);
    cr_expect(strstr(line, "3 GiB of 12 GiB"), "%s", line);
    cr_expect(strstr(line, "307.2 MiB/s"), "%s", line);
    cr_expect(strstr(line, "ETA 30s"), "%s", line);
    cr_expect(strstr(line, "[#######.......................]"), "%s", line);
    struct progress q = {.label = "install", .start = 0};
    progress_line(line, sizeof line, &q, 500, 1000, 600.0);
    cr_expect(strstr(line, " 50%  ETA 10m00s"), "%s", line);
}

Test(util, paths_split_and_join)
{
    struct { char *got; const char *want; } cases[] = {
        {path_base("/Users/a/VM.bundle/"), "VM.bundle"},
        {path_dir("/Users/a/VM.bundle/"), "/Users/a"},
        {path_dir("VM.bundle"), "."},
        {path_dir("/VM.bundle"), "/"},
        {path_join("/a/", "b"), "/a/b"},
        {path_join("/", "b"), "/b"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        cr_expect_str_eq(cases[i].got, cases[i].want);
        free(cases[i].got);
    }
}

/* The Zip64 extra field holds only the values that are 0xFFFFFFFF, in the
 * specification's order; without it, or when it ends first, a value of
 * 0xFFFFFFFF is taken as written (Info-ZIP's entry of 4,294,967,295 bytes). */
Test(zip, zip64_extra_fills_only_the_values_at_their_maximum)
{
    uint8_t extra[4 + 16 + 8] = {0x55, 0x54, 4, 0, 1, 2, 3, 4,   /* another field first (UT, 4 bytes) */
                                 0x01, 0x00, 16, 0};
    for (int i = 0; i < 8; i++) {
        extra[12 + i] = (uint8_t)(0x11 * (i + 1));        /* 0x8877665544332211 */
        extra[20 + i] = (uint8_t)(i == 4);                /* 0x100000000 */
    }
    struct zip_entry ent = {.uncompressed = 0xFFFFFFFF, .compressed = 77, .local_offset = 0xFFFFFFFF};
    zip_apply_zip64_extra(extra, 8 + 4 + 16, &ent);
    cr_expect_eq(ent.uncompressed, 0x8877665544332211ull);
    cr_expect_eq(ent.compressed, 77, "a 32-bit value below the maximum stays");
    cr_expect_eq(ent.local_offset, 0x100000000ull, "the second 64-bit value is the offset: size is not there");

    struct zip_entry literal = {.uncompressed = 0xFFFFFFFF, .compressed = 0xFFFFFFFF, .local_offset = 0xFFFFFFFF};
    zip_apply_zip64_extra(extra, 8, &literal);   /* only the UT field: no Zip64 field at all */
    cr_expect_eq(literal.uncompressed, 0xFFFFFFFF);
    cr_expect_eq(literal.compressed, 0xFFFFFFFF);
    cr_expect_eq(literal.local_offset, 0xFFFFFFFF);

    uint8_t short_field[4 + 8] = {0x01, 0x00, 8, 0, 1, 0, 0, 0, 1, 0, 0, 0};
    struct zip_entry part = {.uncompressed = 0xFFFFFFFF, .compressed = 0xFFFFFFFF, .local_offset = 12};
    zip_apply_zip64_extra(short_field, sizeof short_field, &part);
    cr_expect_eq(part.uncompressed, 0x100000001ull);
    cr_expect_eq(part.compressed, 0xFFFFFFFF, "the field ends before it: taken as written");
    cr_expect_eq(part.local_offset, 12);
}
