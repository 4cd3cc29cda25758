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
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        struct proc_result r = run_macvm(cases[i].typed, NULL);
        cr_expect_eq(r.status, 64, "macvm %s: exit %d, want 64", cases[i].typed, r.status);
        cr_expect_eq(r.out_len, 0, "macvm %s printed on stdout: %s", cases[i].typed, r.out);
        cr_expect_eq(count_lines(r.err), 1, "macvm %s: one line, got:\n%s", cases[i].typed, r.err);
        cr_expect(strstr(r.err, "is not a command") && strstr(r.err, cases[i].hint),
                  "macvm %s should point to \"%s\": %s", cases[i].typed, cases[i].hint, r.err);
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
