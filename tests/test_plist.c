/* test_plist.c -- the plist reader (XML and binary), the XML writer, and the
 * JSON reader, on files that Python's plistlib wrote (tests/fixtures/plist,
 * see make_fixtures.py) and on hostile input. */

/* Parses a fixture file into a tree owned by a.  Fails the test when it does not parse. */
static struct plist *t_parse_fixture(const char *rel, struct arena *a)
{
    char *path = fixture(rel);
    struct error e = {0};
    struct plist *root = plist_read_file(path, 1 << 20, a, &e);
    cr_assert(root, "%s does not parse: %s", rel, e.text);
    free(path);
    return root;
}

/* Walks "/Nested/Level1/0" from root.  Returns the node or NULL. */
static const struct plist *t_walk(const struct plist *root, const char *path)
{
    char copy[256];
    snprintf(copy, sizeof copy, "%s", path);
    const struct plist *node = root;
    for (char *save, *part = strtok_r(copy, "/", &save); part && node; part = strtok_r(NULL, "/", &save)) {
        if (node->type == PLIST_DICT)
            node = plist_get(node, part);
        else if (node->type == PLIST_ARRAY && (size_t)atoi(part) < node->count)
            node = node->items[atoi(part)];
        else
            node = NULL;
    }
    return node;
}

/* Checks a tree against every row of all-types.expected.json (written by
 * make_fixtures.py from the values it gave plistlib). */
static void t_check_all_types(const struct plist *root, const char *which)
{
    struct arena a = {0};
    char *data;
    size_t len;
    struct error e = {0};
    char *path = fixture("plist/all-types.expected.json");
    cr_assert_eq(read_file(path, 1 << 20, &data, &len, &e), 0);
    free(path);
    struct plist *rows = json_parse(data, len, &a, NULL);
    cr_assert(rows && rows->type == PLIST_ARRAY && rows->count > 30);
    for (size_t i = 0; i < rows->count; i++) {
        const struct plist *row = rows->items[i];
        const char *where = plist_string(row, "path"), *type = plist_string(row, "type");
        const struct plist *node = t_walk(root, where);
        cr_assert(node, "%s: %s is missing", which, where);
        cr_expect_str_eq(plist_type_name(node->type), type, "%s: %s", which, where);
        const struct plist *want = plist_get(row, "value");
        uint64_t count;
        if (plist_uint(row, "count", UINT32_MAX, &count))
            cr_expect_eq(node->count, count, "%s: %s has %zu members", which, where, node->count);
        if (node->type == PLIST_INTEGER) {
            char got[32];
            snprintf(got, sizeof got, "%s%" PRIu64, node->negative ? "-" : "", node->magnitude);
            cr_expect_str_eq(got, want->string, "%s: %s", which, where);
        } else if (node->type == PLIST_STRING) {
            cr_expect_str_eq(node->string, want->string, "%s: %s", which, where);
        } else if (node->type == PLIST_BOOL) {
            cr_expect_eq(node->boolean, want->boolean, "%s: %s", which, where);
        } else if (node->type == PLIST_REAL) {
            cr_expect_eq(node->real, strtod(want->string, NULL), "%s: %s", which, where);
        } else if (node->type == PLIST_DATE) {
            cr_expect_eq(node->real, plist_get(row, "abs")->real, "%s: %s", which, where);
        } else if (node->type == PLIST_DATA) {
            char hex[256] = "";
            for (size_t k = 0; k < node->count && k < 100; k++)
                snprintf(hex + 2 * k, 3, "%02x", node->data[k]);
            cr_expect_str_eq(hex, want->string, "%s: %s", which, where);
        }
    }
    arena_free(&a);
    free(data);
}

Test(plist, binary_all_types_from_plistlib)
{
    struct arena a = {0};
    t_check_all_types(t_parse_fixture("plist/all-types.bplist", &a), "binary");
    arena_free(&a);
}

Test(plist, xml_all_types_from_plistlib)
{
    struct arena a = {0};
    t_check_all_types(t_parse_fixture("plist/all-types.xml", &a), "xml");
    arena_free(&a);
}

Test(plist, hardware_model_with_16_byte_integer)
{
    struct hardware_model hw;
    struct error e = {0};
    char *path = fixture("plist/HardwareModel");
    cr_assert_eq(hardware_model_read(path, &hw, &e), 0, "%s", e.text);
    cr_expect_eq(hw.data_representation_version, 1);
    cr_expect_eq(hw.platform_version, 2);
    cr_expect_str_eq(hw.minimum_supported_os, "13.0.0");
    free(path);
}

Test(plist, machine_identifier_ecid_above_2_63)
{
    uint64_t ecid = 0;
    struct error e = {0};
    char *big = fixture("plist/MachineIdentifier"), *small = fixture("plist/MachineIdentifier-small");
    cr_assert_eq(machine_identifier_read(big, &ecid, &e), 0, "%s", e.text);
    cr_expect_eq(ecid, 0xA1B2C3D4E5F60718ull);
    cr_assert_eq(machine_identifier_read(small, &ecid, &e), 0, "%s", e.text);
    cr_expect_eq(ecid, 0x0011223344556677ull);
    free(big);
    free(small);
}

/* Every hostile plist is refused as bad data, with a message, never a crash. */
Test(plist, hostile_binary_and_xml_are_refused)
{
    static const char *const files[] = {
        "hostile/bplist-cycle", "hostile/bplist-cycle-indirect", "hostile/bplist-bad-trailer",
        "hostile/bplist-bad-offset", "hostile/bplist-bad-ref", "hostile/bplist-huge-count",
        "hostile/bplist-truncated", "hostile/xml-unclosed.plist", "hostile/xml-bad-entity.plist",
    };
    for (size_t i = 0; i < sizeof files / sizeof *files; i++) {
        struct arena a = {0};
        struct error e = {0};
        char *path = fixture(files[i]);
        cr_expect_null(plist_read_file(path, 1 << 20, &a, &e), "%s parsed", files[i]);
        cr_expect_eq(e.code, EX_DATAERR, "%s: code %d", files[i], e.code);
        cr_expect(strlen(e.text) > 10, "%s: no message", files[i]);
        arena_free(&a);
        free(path);
    }
}

Test(plist, binary_cycle_is_named)
{
    struct arena a = {0};
    struct error e = {0};
    char *path = fixture("hostile/bplist-cycle");
    cr_assert_null(plist_read_file(path, 1 << 20, &a, &e));
    cr_expect(strstr(e.text, "cycle"), "message: %s", e.text);
    arena_free(&a);
    free(path);
}

/* Builds 10,000 levels of nesting of open/close around a leaf. */
static char *t_deep(const char *head, const char *open, const char *leaf, const char *close, const char *tail)
{
    struct buf b = {0};
    buf_puts(&b, head);
    for (int i = 0; i < 10000; i++)
        buf_puts(&b, open);
    buf_puts(&b, leaf);
    for (int i = 0; i < 10000; i++)
        buf_puts(&b, close);
    buf_puts(&b, tail);
    return b.data;
}

Test(plist, xml_nested_10000_deep_is_an_error_not_a_crash)
{
    char *doc = t_deep("<?xml version=\"1.0\"?><plist version=\"1.0\">", "<array>", "<string>x</string>",
                       "</array>", "</plist>");
    struct arena a = {0};
    struct error e = {0};
    cr_expect_null(plist_parse(doc, strlen(doc), &a, &e));
    cr_expect_eq(e.code, EX_DATAERR);
    cr_expect(strstr(e.text, "deep"), "message: %s", e.text);
    arena_free(&a);
    free(doc);
}

Test(plist, json_nested_10000_deep_is_refused)
{
    char *doc = t_deep("", "[", "1", "]", "");
    struct arena a = {0};
    cr_expect_null(json_parse(doc, strlen(doc), &a, NULL));
    arena_free(&a);
    free(doc);
}

/* A Config.plist edited by hand can hold a key twice; Python's plistlib (and
 * json, for run.json) take the last value, and so must macvm. */
Test(plist, a_key_given_twice_takes_its_last_value)
{
    const char *xml = "<plist><dict><key>CPUCount</key><integer>2</integer>"
                      "<key>CPUCount</key><integer>6</integer></dict></plist>";
    const char *json = "{\"cpu_count\":2,\"cpu_count\":6}";
    struct arena a = {0};
    struct error e = {0};
    uint64_t n = 0;
    struct plist *root = plist_parse(xml, strlen(xml), &a, &e);
    cr_assert(root, "%s", e.text);
    cr_expect(plist_uint(root, "CPUCount", 64, &n) && n == 6, "CPUCount %" PRIu64 ", want 6", n);
    root = json_parse(json, strlen(json), &a, NULL);
    cr_assert(root, "run.json's reader refused %s", json);
    cr_expect(plist_uint(root, "cpu_count", 64, &n) && n == 6, "cpu_count %" PRIu64 ", want 6", n);
    arena_free(&a);
}

Test(plist, xml_entities_cdata_and_empty_elements)
{
    const char *doc = "<plist><dict><key>a&amp;b</key><string>&lt;&#x1F34E;&#233;&gt;</string>"
                      "<key>c</key><string><![CDATA[<raw> & ]]>tail</string><key>e</key><string/>"
                      "<key>t</key><true/><key>n</key><integer>-0x10</integer></dict></plist>";
    struct arena a = {0};
    struct error e = {0};
    struct plist *root = plist_parse(doc, strlen(doc), &a, &e);
    cr_assert(root, "%s", e.text);
    cr_expect_str_eq(plist_string(root, "a&b"), "<\xF0\x9F\x8D\x8E\xC3\xA9>");
    cr_expect_str_eq(plist_string(root, "c"), "<raw> & tail");
    cr_expect_str_eq(plist_string(root, "e"), "");
    cr_expect(plist_bool(root, "t", false));
    const struct plist *n = plist_get(root, "n");
    cr_expect(n && n->negative && n->magnitude == 16);
    arena_free(&a);
}

/* Config.plist as macvm writes it is read back the same, and Python's plistlib
 * (which follows Apple's DTD) accepts it: what plutil and Xcode will open. */
Test(plist, config_round_trip_and_plistlib_reads_it, .init = t_tmp_init, .fini = t_tmp_fini)
{
    char *dir = temp_dir();
    struct vm_config c = config_defaults(), back;
    struct error e = {0};
    c.cpu_count = 6;
    c.memory_bytes = 12ull << 30;
    c.display_width = 2560;
    c.display_height = 1600;
    c.display_ppi = 144;
    snprintf(c.mac_address, sizeof c.mac_address, "8a:2c:11:de:ad:01");
    snprintf(c.installed_from, sizeof c.installed_from, "A & <B>.ipsw");
    snprintf(c.installed_version, sizeof c.installed_version, "15.0");
    snprintf(c.installed_build, sizeof c.installed_build, "24A335");
    c.install_completed = false;
    c.set = CONFIG_CPU | CONFIG_MEMORY | CONFIG_DISPLAY | CONFIG_MAC | CONFIG_INSTALL;
    cr_assert_eq(config_save(dir, &c, &e), 0, "%s", e.text);
    cr_assert_eq(config_load(dir, &back, &e), 0, "%s", e.text);
    cr_expect_eq(back.cpu_count, 6);
    cr_expect_eq(back.memory_bytes, 12ull << 30);
    cr_expect_eq(back.display_ppi, 144);
    cr_expect_str_eq(back.mac_address, "8a:2c:11:de:ad:01");
    cr_expect_str_eq(back.installed_from, "A & <B>.ipsw");
    cr_expect_not(back.install_completed);
    cr_expect_eq(back.set, c.set);

    char *config = t_path_join(dir, "Config.plist");
    const char *argv[] = {"python3", "-c",
                          "import plistlib,sys; d=plistlib.load(open(sys.argv[1],'rb')); "
                          "print(d['CPUCount'], d['MemorySize'], d['InstalledFromIPSW'], d['InstallCompleted'])",
                          config, NULL};
    struct proc_result r = run_argv(argv);
    cr_expect_eq(r.status, 0, "plistlib refused Config.plist: %s", r.err);
    cr_expect_str_eq(r.out, "6 12884901888 A & <B>.ipsw False\n");
    proc_result_free(&r);
    free(config);
    free(dir);
}

Test(plist, config_with_a_bad_value_names_the_key, .init = t_tmp_init, .fini = t_tmp_fini)
{
    char *dir = temp_dir(), *path = t_path_join(dir, "Config.plist");
    const char *doc = "<plist><dict><key>CPUCount</key><string>four</string></dict></plist>";
    cr_assert_eq(t_write_file(path, doc, strlen(doc)), 0);
    struct vm_config c;
    struct error e = {0};
    cr_expect_eq(config_load(dir, &c, &e), EX_DATAERR);
    cr_expect(strstr(e.text, "CPUCount"), "message: %s", e.text);
    free(path);
    free(dir);
}

Test(json, strings_escapes_and_wanted_keys)
{
    const char *line = "{\"eventMessage\":\"a\\/b \\u00e9 \\ud83c\\udf4e \\\"q\\\"\",\"skip\":{\"x\":[1,2,{\"y\":null}]},"
                       "\"timestamp\":\"2025-07-27 15:47:10.504275-0400\",\"n\":-3}";
    static const char *const wanted[] = {"eventMessage", "timestamp", NULL};
    struct arena a = {0};
    struct plist *o = json_parse(line, strlen(line), &a, wanted);
    cr_assert(o);
    cr_expect_str_eq(plist_string(o, "eventMessage"), "a/b \xC3\xA9 \xF0\x9F\x8D\x8E \"q\"");
    cr_expect_str_eq(plist_string(o, "timestamp"), "2025-07-27 15:47:10.504275-0400");
    cr_expect_null(plist_get(o, "skip"), "unwanted keys are not kept");
    cr_expect_null(plist_get(o, "n"));
    arena_free(&a);
}

Test(json, malformed_documents_are_refused)
{
    static const char *const bad[] = {
        "{\"a\":\"unterminated}", "{\"a\":1,}", "{\"a\" 1}", "[1 2]", "{\"a\":\"\\x\"}", "{\"a\":tru}",
        "{\"a\":\"ctl\x01\"}", "{} trailing", "", "-", "{\"a\":\"\\ud83c\\u12\"}", "[e]", "[.]", "[--1]",
        "[01]", "[1.]", "[1e]", "[1.5e+]", "[-]",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        struct arena a = {0};
        cr_expect_null(json_parse(bad[i], strlen(bad[i]), &a, NULL), "accepted: %s", bad[i]);
        arena_free(&a);
    }
}

Test(json, writer_escapes_and_replaces_invalid_utf8)
{
    struct buf b = {0};
    struct json j = {.out = &b};
    json_open(&j, NULL, '{');
    json_str(&j, "s", "tab\there \"q\" \\ \x01 caf\xC3\xA9 bad\xFF end");
    json_null(&j, "n");
    json_open(&j, "a", '[');
    json_uint(&j, NULL, 18446744073709551615ull);
    json_int(&j, NULL, -5);
    json_close(&j, ']');
    json_close(&j, '}');
    cr_expect_str_eq(b.data, "{\"s\":\"tab\\there \\\"q\\\" \\\\ \\u0001 caf\xC3\xA9 bad\xEF\xBF\xBD end\",\"n\":null,"
                             "\"a\":[18446744073709551615,-5]}");
    buf_free(&b);
}

/* A number is read whole, however many digits it has (one beyond 64 bits is a
 * real); a key spelled with an escape is judged by what it decodes to. */
Test(json, long_numbers_and_escaped_keys)
{
    char line[256];
    snprintf(line, sizeof line, "{\"big\":1%070d,\"n\":18446744073709551615,\"ti\\u006de\":\"x\",\"sk\\u0069p\":1}", 0);
    static const char *const wanted[] = {"big", "n", "time", NULL};
    struct arena a = {0};
    struct plist *o = json_parse(line, strlen(line), &a, wanted);
    cr_assert(o, "refused: %s", line);
    const struct plist *big = plist_get(o, "big");
    cr_assert(big && big->type == PLIST_REAL);
    cr_expect_eq(big->real, 1e70, "read as %g", big->real);
    uint64_t n;
    cr_expect(plist_uint(o, "n", UINT64_MAX, &n) && n == UINT64_MAX);
    cr_expect_str_eq(plist_string(o, "time"), "x");
    cr_expect_eq(o->count, 3, "the unwanted key spelled with an escape is not kept");
    arena_free(&a);
}

/* ipsw skips the per-component Manifest dicts of a BuildManifest: the rest
 * of the tree is as a full parse builds it, and a Manifest that never closes
 * is still an error. */
Test(plist, skipped_manifest_dicts_leave_the_rest_intact)
{
    const char *doc = "<plist><dict><key>BuildIdentities</key><array><dict>"
                      "<key>Manifest</key><dict><key>OS</key><dict><key>Digest</key><data>AAEC</data>"
                      "<key>Info</key><dict><key>Path</key><string>a&lt;b</string></dict><key>E</key><dict/></dict>"
                      "<key>L</key><array><string>x</string><array/></array></dict>"
                      "<key>Info</key><dict><key>DeviceClass</key><string>vma2macosap</string></dict>"
                      "</dict></array><key>ProductVersion</key><string>15.1</string></dict></plist>";
    struct arena a = {0}, b = {0};
    struct error e = {0};
    struct plist *skipped = plist_parse_xml(doc, strlen(doc), &a, &e, "Manifest");
    cr_assert(skipped, "%s", e.text);
    struct plist *full = plist_parse(doc, strlen(doc), &b, &e);
    cr_assert(full, "%s", e.text);
    const struct plist *id = plist_get(skipped, "BuildIdentities")->items[0];
    cr_expect_null(plist_get(id, "Manifest"));
    cr_expect_str_eq(plist_string(plist_get(id, "Info"), "DeviceClass"), "vma2macosap");
    cr_expect_str_eq(plist_string(skipped, "ProductVersion"), "15.1");
    cr_expect_not_null(plist_get(plist_get(full, "BuildIdentities")->items[0], "Manifest"));
    arena_free(&a);
    arena_free(&b);

    const char *open = "<plist><dict><key>Manifest</key><dict><key>OS</key><dict><key>x</key><true/></dict>";
    struct arena c = {0};
    e = (struct error){0};
    cr_expect_null(plist_parse_xml(open, strlen(open), &c, &e, "Manifest"));
    cr_expect_eq(e.code, EX_DATAERR);
    arena_free(&c);
}

/* What a hand edit leaves in Config.plist or a manifest: comments in text and
 * in skipped values (where "<dict>" in a comment is no tag), <key/>. */
Test(plist, xml_comments_in_text_and_in_skipped_values)
{
    const char *doc = "\xEF\xBB\xBF<plist><dict><key>Manifest</key><dict><!-- <dict> <array> -->"
                      "<key>x</key><string>a<!-- </dict> -->b</string></dict>"
                      "<key>A<!-- c -->B</key><string>1<?pi x?>2</string><key/><string>empty key</string>"
                      "</dict></plist>";
    struct arena a = {0}, b = {0};
    struct error e = {0};
    struct plist *skipped = plist_parse_xml(doc, strlen(doc), &a, &e, "Manifest");
    cr_assert(skipped, "%s", e.text);
    cr_expect_null(plist_get(skipped, "Manifest"));
    cr_expect_str_eq(plist_string_or_empty(skipped, "AB"), "12");
    cr_expect_str_eq(plist_string_or_empty(skipped, ""), "empty key");
    struct plist *full = plist_parse(doc, strlen(doc), &b, &e);
    cr_assert(full, "%s", e.text);
    cr_expect_str_eq(plist_string_or_empty(plist_get(full, "Manifest"), "x"), "ab");
    arena_free(&a);
    arena_free(&b);
}

/* The word-at-a-time scan stops exactly where a byte-by-byte one does: at the
 * first quote, backslash or control character, whatever its offset, with
 * bytes of 0x80 and up (UTF-8) around it. */
Test(json, string_stop_agrees_with_a_byte_scan)
{
    static const unsigned char alphabet[] = {'a', 'Z', ' ', '~', 0x7f, 0x80, 0xc3, 0xa9, 0xff, 0x20, 0x21,
                                             '"', '\\', 0x00, 0x1f, 0x0a, 0x01, 0x5b, 0x5d, 0x23};
    unsigned seed = 12345;
    char buf[64];
    for (int round = 0; round < 200000; round++) {
        size_t n = (seed = seed * 1103515245 + 12345) >> 16 & 63;
        for (size_t i = 0; i < n; i++) {
            seed = seed * 1103515245 + 12345;
            /* mostly plain bytes, now and then one that stops the scan */
            unsigned r = seed >> 16;
            buf[i] = (char)(r % 8 ? alphabet[r % 10] : alphabet[10 + r % 10]);
        }
        const char *want = buf;
        while (want < buf + n && *want != '"' && *want != '\\' && (unsigned char)*want >= 0x20)
            want++;
        const char *got = json_string_stop(buf, buf + n);
        cr_assert_eq(got, want, "round %d, %zu bytes: stopped at %td, want %td", round, n, got - buf, want - buf);
    }
}
