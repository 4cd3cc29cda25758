/* test_commands.c -- macvm's command line as a whole (macvm.c's main): what
 * someone used to another tool types, and what macvm answers. */

/* Each habit of tart or Apple's sample gets macvm's way in one line, exit 64. */
Test(commands, other_tools_habits_get_a_hint)
{
    static const struct {
        const char *typed, *hint;
    } cases[] = {
        {"create", "macvm install"},
        {"get", "macvm info"},
        {"delete", "rm -r BUNDLE"},
        {"stop", "Ctrl-C"},
        {"set", "plutil -replace"},
    };
    for (size_t i = 0; i < 2 * sizeof cases / sizeof *cases; i++) {   /* typed as a command, then after help */
        const char *typed = cases[i / 2].typed, *how = i % 2 ? "macvm help" : "macvm";
        struct proc_result r = i % 2 ? run_macvm("help", typed, NULL) : run_macvm(typed, NULL);
        cr_expect_eq(r.status, 64, "%s %s: exit %d, want 64", how, typed, r.status);
        cr_expect_eq(r.out_len, 0, "%s %s printed on stdout: %s", how, typed, r.out);
        cr_expect_eq(count_lines(r.err), 1, "%s %s: one line, got:\n%s", how, typed, r.err);
        cr_expect(strstr(r.err, "is not a command") && strstr(r.err, cases[i / 2].hint),
                  "%s %s should point to \"%s\": %s", how, typed, cases[i / 2].hint, r.err);
        proc_result_free(&r);
    }
}

Test(commands, unknown_command_points_to_help)
{
    struct proc_result r = run_macvm("frobnicate", NULL);
    cr_expect_eq(r.status, 64);
    cr_expect(strstr(r.err, "'frobnicate' is not a command; 'macvm help' lists them") != NULL, "%s", r.err);
    proc_result_free(&r);
}

/* `macvm help` is the map: one line per command, its name then what it does,
 * and then how to get a command's options. */
Test(commands, help_lists_one_line_per_command_with_what_it_does)
{
    struct proc_result r = run_macvm("help", NULL);
    cr_assert_eq(r.status, 0, "macvm help: exit %d\n%s", r.status, r.err);
    const char *list = strstr(r.out, "\ncommands:\n");
    cr_assert(list, "macvm help has no \"commands:\" heading:\n%s", r.out);
    list += strlen("\ncommands:\n");
    const char *end = strstr(list, "\n\n");
    cr_assert(end, "the command list does not end with a blank line:\n%s", r.out);
    cr_expect(strstr(end, "macvm help COMMAND"), "after the list, how to see a command's options:\n%s", r.out);

    size_t n_commands = sizeof commands / sizeof *commands, lines = 0;
    size_t seen[sizeof commands / sizeof *commands] = {0};
    for (const char *line = list; line <= end; line = strchr(line, '\n') + 1) {
        const char *eol = strchr(line, '\n');
        char name[32] = "", rest[128] = "";
        cr_expect_eq(sscanf(line, " %31s %127[^\n]", name, rest), 2, "not \"NAME  summary\": %.*s",
                     (int)(eol - line), line);
        lines++;
        size_t i = 0;
        while (i < n_commands && strcmp(commands[i].name, name) != 0)
            i++;
        cr_expect(i < n_commands, "macvm help lists '%s', which is not a command", name);
        if (i < n_commands)
            seen[i]++;
        cr_expect(strlen(rest) >= 20 && eol - line <= 80, "'%s': a summary that says something, on one line: %.*s",
                  name, (int)(eol - line), line);
    }
    cr_expect_eq(lines, n_commands, "macvm help: %zu lines for %zu commands:\n%s", lines, n_commands, r.out);
    for (size_t i = 0; i < n_commands; i++)
        cr_expect_eq(seen[i], 1, "macvm help lists '%s' %zu times, want once:\n%s", commands[i].name, seen[i], r.out);
    proc_result_free(&r);
}

/* During a download or an installation the first Ctrl-C asks the bridge to
 * cancel, so the bundle stays marked incomplete and the download resumable. */
Test(commands, first_ctrl_c_during_work_cancels_it)
{
    cr_expect(macvm_cancel_work(1));
}

/* A second one ends macvm at once, as SIGINT would: the user means it. */
Test(commands, second_ctrl_c_during_work_ends_macvm, .signal = SIGINT)
{
    macvm_cancel_work(1);
    macvm_cancel_work(2);
    cr_assert_fail("macvm_cancel_work(2) returned");
}

/* ---- a hostile user's names, files and timing, command by command ---- */

/* doctor's rows name the bundle's volume and the image: a newline or ESC in
 * those paths is escaped, so each row stays one line that starts with its status. */
Test(commands, doctor_rows_stay_one_line_whatever_the_paths_hold, .init = t_tmp_init, .fini = t_tmp_fini)
{
    char *odd = t_path_join(t_tmp, "vm\n\x1b[2Jpass  forged.bundle");
    cr_assert_eq(mkdir(odd, 0755), 0);
    struct proc_result r = run_fake("doctor", "--ipsw", odd, odd, NULL);
    cr_expect_eq(r.status, 66, "an image that is a folder: exit %d, want 66\n%s", r.status, r.err);
    cr_expect(strstr(r.out, "forged") != NULL, "doctor names the path:\n%s", r.out);
    cr_expect(strchr(r.out, '\x1b') == NULL, "an ESC reached the terminal:\n%s", r.out);
    for (const char *line = r.out; *line; line = strchr(line, '\n') + 1) {
        cr_expect(strncmp(line, "pass ", 5) == 0 || strncmp(line, "warn ", 5) == 0 || strncmp(line, "fail ", 5) == 0 ||
                  strncmp(line, "skip ", 5) == 0, "a row that does not start with its status: %.*s",
                  (int)strcspn(line, "\n"), line);
        if (!strchr(line, '\n'))
            break;
    }
    proc_result_free(&r);
    free(odd);
}

/* --boot-args with a newline or ESC is refused before anything: it would split
 * the dry run's and the run's lines, and the kernel reads words. */
Test(commands, boot_args_with_control_characters_are_refused, .init = t_tmp_init, .fini = t_tmp_fini)
{
    char *b = tk_make_bundle(t_tmp, "vm.bundle", NULL);
    setenv("MACVM_FAKE_FIXTURES", "tests/fixtures/plist", 1);
    struct proc_result r = run_fake("run", "--dry-run", "--boot-args", "-v\nstart mode          dfu\x1b[2J", b, NULL);
    cr_expect_eq(r.status, 64, "exit %d, want 64\nout: %s\nerr: %s", r.status, r.out, r.err);
    cr_expect_eq(r.out_len, 0, "a dry run printed:\n%s", r.out);
    cr_expect(strstr(r.err, "--boot-args has control characters") && count_lines(r.err) == 1, "%s", r.err);
    proc_result_free(&r);
    r = run_fake("run", "--dry-run", "--boot-args", "debug=0x14e -v", b, NULL);
    cr_expect_eq(r.status, 0, "plain boot-args: exit %d\n%s", r.status, r.err);
    cr_expect(strstr(r.out, "NVRAM boot-args     set to \"debug=0x14e -v\"\n"), "%s", r.out);
    proc_result_free(&r);
    free(b);
}

/* A folder where .macvm.lock belongs is damage like a FIFO there: run and
 * clone name it and say to remove it (65), and nothing is copied. */
Test(commands, lock_file_that_is_a_folder_says_remove_it, .init = t_tmp_init, .fini = t_tmp_fini)
{
    char *b = tk_make_bundle(t_tmp, "vm.bundle", NULL), *lock = t_path_join(b, ".macvm.lock");
    char *copy = t_path_join(t_tmp, "copy.bundle");
    cr_assert_eq(mkdir(lock, 0755), 0);
    setenv("MACVM_FAKE_FIXTURES", "tests/fixtures/plist", 1);
    struct proc_result r = run_fake("run", b, NULL);
    cr_expect_eq(r.status, 65, "run: exit %d, want 65\n%s", r.status, r.err);
    cr_expect(strstr(r.err, ".macvm.lock is a folder, not a regular file; remove it") && count_lines(r.err) == 1,
              "run: %s", r.err);
    proc_result_free(&r);
    r = run_fake("clone", b, copy, NULL);
    cr_expect_eq(r.status, 65, "clone: exit %d, want 65\n%s", r.status, r.err);
    cr_expect(strstr(r.err, "remove it"), "clone: %s", r.err);
    cr_expect(access(copy, F_OK) != 0, "the clone was made all the same");
    proc_result_free(&r);
    free(b);
    free(lock);
    free(copy);
}

/* A FIFO where SaveFile.vzvmsave belongs: run refuses it, so info says it is
 * damaged and what to do, not that the next run resumes it. */
Test(commands, info_says_a_save_file_that_is_a_fifo_is_damaged, .init = t_tmp_init, .fini = t_tmp_fini)
{
    char *b = tk_make_bundle(t_tmp, "vm.bundle", NULL), *save = t_path_join(b, "SaveFile.vzvmsave");
    cr_assert_eq(mkfifo(save, 0644), 0);
    struct proc_result r = run_macvm("info", b, NULL);
    cr_expect_eq(r.status, 65, "exit %d, want 65\n%s%s", r.status, r.out, r.err);
    cr_expect(strstr(r.out, "the next run resumes it") == NULL, "info promises a resume:\n%s", r.out);
    cr_expect(strstr(r.err, "SaveFile.vzvmsave: damaged: a FIFO") &&
                  strstr(r.err, "move it out of the bundle (the saved state is lost)") && count_lines(r.err) == 1,
              "info names the damage and what to do:\n%s", r.err);
    cr_expect(strstr(r.err, "restore the bundle") == NULL, "a saved state is not restored from a backup:\n%s", r.err);
    proc_result_free(&r);
    free(save);
    free(b);
}

/* Two clones to one destination: the one that finishes second finds the path
 * taken.  It says so and what to do, and the first one's clone stays whole. */
Test(commands, clone_beaten_to_its_destination_says_what_to_do, .init = t_tmp_init, .fini = t_tmp_fini)
{
    char *copy = tk_mkdirs(t_tmp, ".dst-clone-abcdef/dst"), *dst = t_path_join(t_tmp, "dst");
    char *first = t_path_join(dst, "Disk.img");
    cr_assert_eq(mkdir(dst, 0755), 0);
    tk_write_text(first, "the first clone's");
    struct error e = {0};
    cr_expect_eq(rename_new(copy, dst, &e), EX_CANTCREAT);
    cr_expect(strstr(e.text, "appeared while the clone was made") && strstr(e.text, "name a new path"), "%s", e.text);
    cr_expect(access(first, F_OK) == 0 && access(copy, F_OK) == 0, "a folder was lost");
    free(first);
    free(dst);
    free(copy);
}

/* A finished download in the cache, damaged since (a disk error, a user's
 * truncation): install --latest reuses it, so it must say to remove it, or
 * every later install --latest fails the same way. */
Test(commands, latest_with_a_damaged_cached_image_says_to_remove_it, .init = t_tmp_init, .fini = t_tmp_fini)
{
    char *home = t_path_join(t_tmp, "home"), *cache = tk_mkdirs(t_tmp, "home/Library/Caches/macvm");
    char *cached = t_path_join(cache, "UniversalMac_15.1_24B83_Restore.ipsw"), *b = t_path_join(t_tmp, "New.bundle");
    tk_write_text(cached, "PK\x03\x04 the first bytes of a download, cut short");
    setenv("HOME", home, 1);
    struct proc_result r = run_fake("install", "--latest", b, NULL);
    cr_expect_eq(r.status, 65, "exit %d, want 65\n%s", r.status, r.err);
    cr_expect(strstr(r.err, cached) && strstr(r.err, "remove it, and 'macvm install --latest' downloads the image again"),
              "the cached image is named with what to do:\n%s", r.err);
    cr_expect(access(b, F_OK) != 0, "a bundle was made");
    proc_result_free(&r);
    r = run_fake("install", "--ipsw", cached, b, NULL);
    cr_expect(strstr(r.err, "downloads the image again") == NULL, "an image the user gave is not macvm's to remove:\n%s",
              r.err);
    cr_expect(strstr(r.err, "; download the image again ('macvm install --latest'"), "what to do, as ipsw says:\n%s",
              r.err);
    proc_result_free(&r);
    char *missing = t_path_join(t_tmp, "missing.ipsw");
    r = run_fake("install", "--ipsw", missing, b, NULL);
    cr_expect(r.status == 66 && strstr(r.err, "; name a restore image (.ipsw) file you can read"),
              "a missing image: exit %d, what to do as ipsw says:\n%s", r.status, r.err);
    cr_expect(access(b, F_OK) != 0, "a bundle was made");
    proc_result_free(&r);
    free(missing);
    free(b);
    free(cached);
    free(cache);
    free(home);
}

/* A MAC address in the notation that splits it in two halves of six digits
 * (HP's and some switches' 8A2C11-DEAD01) is redacted like the others; a
 * UUID, whose groups are 8-4-4-4-12, and a longer chain of such halves are not MACs. */
Test(commands, feedback_redacts_a_mac_written_in_two_halves)
{
    struct redaction r = {0};
    struct buf b = {0};
    redact(&b, "port 8A2C11-DEAD01 up; lease 8a2c11-dead01.\n"
               "uuid 4f2a8c11-de4d-4b01-9c3e-8a2c11dead01 chain 8a2c11-dead01-beef00\n", &r);
    cr_expect(strstr(b.data, "port <MAC> up; lease <MAC>.\n"), "%s", b.data);
    cr_expect(strstr(b.data, "4f2a8c11-de4d-4b01-9c3e-8a2c11dead01") && strstr(b.data, "8a2c11-dead01-beef00"),
              "not MAC addresses, redacted all the same:\n%s", b.data);
    buf_free(&b);
}

/* info's lines about a damaged file name the bundle escaped: a name with a
 * newline keeps each problem on one line. */
Test(commands, info_problems_stay_one_line_whatever_the_name, .init = vt_init, .fini = t_tmp_fini)
{
    char *b = vt_bundle(t_tmp, "VM\nfake: all fine", "apple", 4 * VT_GIB);
    char *hw = t_path_join(b, "HardwareModel");
    vt_write_text(hw, "not a property list");
    struct proc_result r = run_macvm("info", b, NULL);
    cr_expect_eq(r.status, EX_DATAERR, "exit %d; %s", r.status, r.err);
    cr_expect_eq(count_lines(r.err), 1, "one line for the one problem:\n%s", r.err);
    cr_expect(strstr(r.err, "VM\\nfake: all fine/HardwareModel"), "the name escaped:\n%s", r.err);
    proc_result_free(&r);
    free(hw);
    free(b);
}

/* A folder that cannot be reached because a file stands where one of its
 * folders belongs: mkdir -p could not make it, so neither the check of a new
 * bundle's folder nor feedback -o's suggests it; both say why. */
Test(commands, a_folder_under_a_file_is_not_told_to_be_made, .init = t_tmp_init, .fini = t_tmp_fini)
{
    char *file = t_path_join(t_tmp, "file"), *deep = t_path_join(t_tmp, "file/sub/New.bundle");
    tk_write_text(file, "a file\n");
    struct error e = {0};
    cr_expect_eq(bundle_folder_check(deep, &e), EX_CANTCREAT);
    cr_expect(strstr(e.text, "mkdir -p") == NULL && strstr(e.text, strerror(ENOTDIR)), "a new bundle: %s", e.text);
    e = (struct error){0};
    cr_expect_eq(output_allowed(deep, false, &e), EX_CANTCREAT);
    cr_expect(strstr(e.text, "mkdir -p") == NULL && strstr(e.text, strerror(ENOTDIR)), "feedback -o: %s", e.text);
    free(deep);
    free(file);
}
