/* test_logs.c -- `macvm pvg-log`, the log reader behind it, and the capture of
 * the unified log during `macvm run` (macvm.c sections 7 and 12; REFERENCE.md
 * section 4).
 *
 * Contract under test:
 *   - `macvm pvg-log --log FILE --json` reads all three styles (`log stream`
 *     ndjson, `log show --style json`, `log show` text) and prints NDJSON, one
 *     object per negotiation: timestamp, guest_version, host_version, message,
 *     verdict (equal / guest-newer / host-newer).  Without --json: the PVG
 *     lines, then the verdict in words (guest newer: the host's renderer is
 *     older than the guest expects; equal: fine).  No negotiation: exit 1,
 *     stdout empty with --json, one line on stderr.
 *   - default source: the bundle's newest run, logs/<time>/vz.ndjson; no
 *     bundle or no run: 66 with what to do; --last off macOS: 69; a bad
 *     --last: 64; two sources: 64.
 *   - hostile input (header lines, unterminated strings, invalid UTF-8, 10 MB
 *     lines, NUL bytes, \/ escapes, unknown fields, CRLF, no final newline,
 *     deep nesting, a truncated array) never stops the scan: good
 *     negotiations are still found, bad records are counted on stderr
 *     ("skipped N malformed and M oversized records"), never a crash.
 *   - memory stays flat: 200 MB logs under a 256 MiB address-space limit.
 *   - `macvm run` records the log with $MACVM_LOG_TOOL (a stand-in written
 *     here) started from an argv: `stream --style ndjson --level debug
 *     --predicate P`, P with the three clauses of REFERENCE.md section 4; its
 *     output lands in logs/<time>/vz.ndjson; it is stopped after the run; a
 *     missing or failing tool only warns; --no-log starts nothing; run.json
 *     records spec, host, times, outcome (with error and advice); only the
 *     newest 20 run folders stay.
 * Big and hostile inputs are generated here, in a per-test temp dir.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#define TL_EX_USAGE 64
#define TL_EX_NOINPUT 66
#define TL_EX_UNAVAILABLE 69
#define TL_EX_SOFTWARE 70

/* ---- A kit shared by test_logs.c, test_feedback.c and test_doctor.c.  Each
 * file carries an identical copy behind this guard, so each compiles alone
 * and in any include order; keep the copies identical. ---- */

/* ---- helpers of this file ---- */

#define TL_PVG_XPC "\\/System\\/Library\\/Frameworks\\/Virtualization.framework\\/Versions\\/A\\/XPCServices\\/" \
                   "com.apple.Virtualization.VirtualMachine.xpc\\/Contents\\/MacOS\\/com.apple.Virtualization.VirtualMachine"

/* One `log stream --style ndjson` line of a negotiation, as recent macOS
 * prints it (\/ escapes), with fields macvm does not know.  No newline.  Free it. */
static char *tl_negotiation(unsigned guest, unsigned host, const char *timestamp)
{
    char *s;
    cr_assert(asprintf(&s,
                       "{\"timezoneName\":\"\",\"messageType\":\"Default\",\"eventType\":\"logEvent\",\"source\":null,"
                       "\"formatString\":\"Guest requested binary version: %%u, setting binary version to: %%u\","
                       "\"userID\":501,\"activityIdentifier\":0,\"subsystem\":\"com.apple.gpusw.ParavirtualizedGraphics\","
                       "\"category\":\"renderer\",\"threadID\":334355,"
                       "\"backtrace\":{\"frames\":[{\"imageOffset\":4049,\"imageUUID\":\"9F8E7D6C-5B4A-3928-1706-F5E4D3C2B1A0\"}]},"
                       "\"processImagePath\":\"" TL_PVG_XPC "\","
                       "\"senderImagePath\":\"\\/System\\/Library\\/Frameworks\\/ParavirtualizedGraphics.framework\\/Versions\\/A\\/"
                       "ParavirtualizedGraphics\",\"timestamp\":\"%s\",\"machTimestamp\":913570501357,"
                       "\"eventMessage\":\"Guest requested binary version: %u, setting binary version to: %u\","
                       "\"aFieldFromTheFuture\":{\"nested\":[1,2.5e3,-7,true,false,null,{}, [],\"\\u00e9\\ud83d\\ude00 \\\" \\\\\"]},"
                       "\"processID\":1234,\"parentActivityIdentifier\":0}",
                       timestamp, guest, host) > 0);
    return s;
}

static void tl_put(FILE *f, const void *p, size_t n)
{
    cr_assert_eq(fwrite(p, 1, n, f), n, "tests: write failed: %s", strerror(errno));
}

static void tl_puts(FILE *f, const char *s)
{
    tl_put(f, s, strlen(s));
}

static void tl_put_negotiation(FILE *f, unsigned guest, unsigned host, const char *ts, const char *end)
{
    char *line = tl_negotiation(guest, host, ts);
    tl_puts(f, line);
    tl_puts(f, end);
    free(line);
}

/* Writes a string literal with its NUL bytes (not the terminating one). */
#define TL_PUT_LITERAL(f, lit) tl_put((f), (lit), sizeof(lit) - 1)

/* Writes n bytes of c. */
static void tl_fill(FILE *f, char c, size_t n)
{
    char block[65536];
    memset(block, c, sizeof block);
    while (n) {
        size_t k = n < sizeof block ? n : sizeof block;
        tl_put(f, block, k);
        n -= k;
    }
}

/* The negotiations of `pvg-log --json` output as "G/H G/H ..." (python reads it:
 * the output must be valid NDJSON in UTF-8), the last line being the summary. */
static char *tl_pairs(const char *dir, const struct proc_result *r)
{
    char *out = tk_save(dir, "pvg-out.ndjson", r->out, r->out_len);
    char *pairs = tk_py(out, true, "list(d[-1]) == ['summary'] and "
                        "' '.join('%d/%d' % (o['guest_version'], o['host_version']) for o in d[:-1])");
    free(out);
    return pairs;
}

/* Reads "skipped N malformed and M oversized records" from stderr; false when absent. */
static bool tl_skipped(const char *err, unsigned long long *malformed, unsigned long long *oversized)
{
    const char *p = strstr(err, "skipped ");
    return p && sscanf(p, "skipped %llu malformed and %llu oversized", malformed, oversized) == 2;
}

static void tl_expect_one_line_error(const struct proc_result *r, int code, const char *what)
{
    cr_expect(r->status >= 0 && r->status < 128, "%s: crashed (status %d); stderr: %s", what, r->status, r->err);
    cr_expect_eq(r->status, code, "%s: exit %d, want %d; stderr: %s", what, r->status, code, r->err);
    cr_expect_eq(r->out_len, 0, "%s: stdout should be empty: %s", what, r->out);
    cr_expect_eq(count_lines(r->err), 1, "%s: stderr should be one line: %s", what, r->err);
    cr_expect(strncmp(r->err, "macvm: ", 7) == 0, "%s: stderr should start \"macvm: \": %s", what, r->err);
}

/* bundle/logs/NAME/vz.ndjson from a fixture log (NULL: no vz.ndjson), with a run.json. */
static void tl_add_run(const char *bundle, const char *name, const char *fixture_log)
{
    char rel[256];
    snprintf(rel, sizeof rel, "logs/%s", name);
    char *run = tk_mkdirs(bundle, rel);
    char *json = t_path_join(run, "run.json");
    tk_write_text(json, "{\"outcome\":{\"result\":\"guest-stopped\"}}\n");
    if (fixture_log) {
        char *src = fixture(fixture_log), *dst = t_path_join(run, "vz.ndjson");
        tk_copy(src, dst);
        free(src);
        free(dst);
    }
    free(json);
    free(run);
}

/* ================================ pvg-log ================================ */

Test(pvg_log, json_from_every_style, .init = t_tmp_init, .fini = t_tmp_fini)
{
    static const char *const styles[] = {"logs/vz-stream.ndjson", "logs/vz-show.json", "logs/vz-show.txt"};
    for (size_t i = 0; i < 3; i++) {
        char *log = fixture(styles[i]);
        struct proc_result r = run_macvm("pvg-log", "--log", log, "--json", NULL);
        cr_assert_eq(r.status, 0, "%s: exit %d; stderr: %s", log, r.status, r.err);
        cr_expect_eq(r.err_len, 0, "%s: stderr should be empty: %s", log, r.err);
        cr_expect_eq(count_lines(r.out), 2, "%s: want one negotiation line and the summary, got: %s", log, r.out);
        char *out = tk_save(t_tmp, "out.ndjson", r.out, r.out_len);
        char *keys = tk_py(out, true, "sorted(d[0].keys())");
        cr_expect(strcmp(keys, "[\"guest_version\", \"host_version\", \"message\", \"timestamp\", \"verdict\"]") == 0, "%s: keys" "\n  got:  %s\n  want: %s", log, keys, "[\"guest_version\", \"host_version\", \"message\", \"timestamp\", \"verdict\"]");
        char *v = tk_py(out, true,
                        "'%s|%s|%s|%s|%s' % (d[0]['timestamp'], d[0]['guest_version'], d[0]['host_version'], "
                        "d[0]['message'], d[0]['verdict'])");
        cr_expect(strcmp(v, "2025-07-27 15:47:10.504275-0400|43|31|Guest requested binary version: 43, setting "
                            "binary version to: 31|guest-newer") == 0, "%s: the negotiation" "\n  got:  %s\n  want: %s", log, v, "2025-07-27 15:47:10.504275-0400|43|31|Guest requested binary version: 43, setting "
                            "binary version to: 31|guest-newer");
        char *types = tk_py(out, true, "type(d[0]['guest_version']).__name__ + type(d[0]['host_version']).__name__");
        cr_expect(strcmp(types, "intint") == 0, "%s: versions should be JSON numbers" "\n  got:  %s\n  want: %s", log, types, "intint");
        free(types);
        free(v);
        free(keys);
        free(out);
        proc_result_free(&r);
        free(log);
    }
}

Test(pvg_log, guest_newer_in_words)
{
    char *log = fixture("logs/vz-stream.ndjson");
    struct proc_result r = run_macvm("pvg-log", "--log", log, NULL);
    cr_assert_eq(r.status, 0, "exit %d; stderr: %s", r.status, r.err);
    cr_expect(strstr(r.out, "guest requested 43, host set 31") != NULL, "no summary: %s", r.out);
    cr_expect(strstr(r.out, "host's paravirtualized graphics renderer is older than the guest expects") != NULL,
              "the verdict should say the host's renderer is older than the guest expects: %s", r.out);
    /* The PVG lines are listed; the other Virtualization lines are not. */
    cr_expect(strstr(r.out, "Metal device: Apple M2 Pro") != NULL, "PVG lines missing: %s", r.out);
    cr_expect(strstr(r.out, "Guest command buffer 1187 failed") != NULL, "PVG error line missing: %s", r.out);
    cr_expect(strstr(r.out, "Validating virtual machine configuration") == NULL, "a non-PVG line is listed: %s", r.out);
    cr_expect(strstr(r.out, "Balloon device") == NULL, "a non-PVG line is listed: %s", r.out);
    proc_result_free(&r);
    free(log);
}

Test(pvg_log, equal_versions_are_fine, .init = t_tmp_init, .fini = t_tmp_fini)
{
    char *log = fixture("logs/pvg-equal.ndjson");
    struct proc_result r = run_macvm("pvg-log", "--log", log, "--json", NULL);
    cr_assert_eq(r.status, 0, "exit %d; stderr: %s", r.status, r.err);
    char *out = tk_save(t_tmp, "out.ndjson", r.out, r.out_len);
    char *v = tk_py(out, true, "'%s %s/%s %s %s' % (len(d), d[0]['guest_version'], d[0]['host_version'], d[0]['verdict'], "
                    "d[1]['summary']['verdict'])");
    tk_expect_str(v, "2 31/31 equal equal", "");
    proc_result_free(&r);
    r = run_macvm("pvg-log", "--log", log, NULL);
    cr_assert_eq(r.status, 0, "exit %d; stderr: %s", r.status, r.err);
    cr_expect(strstr(r.out, "guest requested 31, host set 31") != NULL, "no summary: %s", r.out);
    cr_expect(strstr(r.out, "fine") != NULL, "equal versions should be called fine: %s", r.out);
    cr_expect(strstr(r.out, "older than the guest expects") == NULL, "equal versions called a mismatch: %s", r.out);
    free(v);
    free(out);
    proc_result_free(&r);
    free(log);
}

/* Today's hosts: 209 and 209 is a match, not a finding; in every style. */
Test(pvg_log, equal_209_is_a_match_in_every_style, .init = t_tmp_init, .fini = t_tmp_fini)
{
    static const char *const styles[] = {"logs/pvg-equal-209.ndjson", "logs/pvg-equal-209.json",
                                         "logs/pvg-equal-209.txt"};
    for (size_t i = 0; i < 3; i++) {
        char *log = fixture(styles[i]);
        struct proc_result r = run_macvm("pvg-log", "--log", log, NULL);
        cr_expect_eq(r.status, 0, "%s: exit %d; stderr: %s", log, r.status, r.err);
        cr_expect(strstr(r.out, "guest requested 209, host set 209") && strstr(r.out, "fine"), "%s: %s", log, r.out);
        cr_expect(!strstr(r.out, "Reset loop") && !strstr(r.out, "older than"), "%s: a finding in a match: %s", log,
                  r.out);
        proc_result_free(&r);
        r = run_macvm("pvg-log", "--log", log, "--json", NULL);
        char *out = tk_save(t_tmp, "out.ndjson", r.out, r.out_len);
        char *v = tk_py(out, true, "'%s %s %s' % (d[0]['verdict'], d[-1]['summary']['verdict'], "
                        "d[-1]['summary']['resets'])");
        tk_expect_str(v, "equal equal 0", styles[i]);
        free(v);
        free(out);
        proc_result_free(&r);
        free(log);
    }
}

/* A renderer resetting in a loop while the negotiation is fine: counted, called
 * a loop, put on a timeline, in every style. */
Test(pvg_log, reset_loop_in_every_style, .init = t_tmp_init, .fini = t_tmp_fini)
{
    static const char *const styles[] = {"logs/pvg-reset-loop.ndjson", "logs/pvg-reset-loop.json",
                                         "logs/pvg-reset-loop.txt"};
    for (size_t i = 0; i < 3; i++) {
        char *log = fixture(styles[i]);
        struct proc_result r = run_macvm("pvg-log", "--log", log, NULL);
        cr_expect_eq(r.status, 0, "%s: exit %d; stderr: %s", log, r.status, r.err);
        cr_expect(strstr(r.out, "Resets: 4 device resets, 4 displays destroyed and created again"), "%s: %s", log,
                  r.out);
        cr_expect(strstr(r.out, "Reset loop: ") && strstr(r.out, "while the negotiation is fine"), "%s: %s", log,
                  r.out);
        /* The timeline: the first negotiation, each reset, the last event, in order. */
        const char *t = strstr(r.out, "Timeline:");
        cr_assert_not_null(t, "%s: no timeline: %s", log, r.out);
        const char *a = strstr(t, "14:02:07.820365-0400  first negotiation: guest 209, host 209");
        const char *b = a ? strstr(a, "14:02:16.118034-0400  device reset 1") : NULL;
        const char *c = b ? strstr(b, "14:02:24.368034-0400  device reset 4") : NULL;
        const char *d = c ? strstr(c, "14:02:24.408905-0400  last event: PGDisplayNub[0]: Created") : NULL;
        cr_expect(d != NULL, "%s: the timeline is not first negotiation, resets 1-4, last event: %s", log, t);
        proc_result_free(&r);
        r = run_macvm("pvg-log", "--log", log, "--json", NULL);
        cr_expect_eq(r.status, 0, "%s --json: exit %d", log, r.status);
        char *out = tk_save(t_tmp, "out.ndjson", r.out, r.out_len);
        char *v = tk_py(out, true, "'%(verdict)s %(resets)d %(display_cycles)d %(negotiations)d %(pvg_lines)d ' % "
                        "d[-1]['summary'] + ','.join(e['event'] for e in d[-1]['summary']['timeline'])");
        tk_expect_str(v, "reset-loop 4 4 1 14 first negotiation,device reset,device reset,device reset,device reset,"
                      "last event", styles[i]);
        free(v);
        free(out);
        proc_result_free(&r);
        free(log);
    }
}

/* Two resets are a hiccup, not a loop; more than the timeline lists are summed up. */
Test(pvg_log, loop_threshold_and_long_timelines, .init = t_tmp_init, .fini = t_tmp_fini)
{
    char *log = t_path_join(t_tmp, "resets.txt");
    struct buf b = {0};
    for (int i = 0; i < 9; i++)
        buf_printf(&b, "2026-03-09 14:02:%02d.000000-0400 0x7c113    Error       0x0                  1234   0    "
                   "com.apple.Virtualization.VirtualMachine: (ParavirtualizedGraphics) "
                   "[com.apple.gpusw.ParavirtualizedGraphics:device] Device reset (reason: timeout)\n", 10 + i);
    tk_write(log, b.data, 2 * b.len / 9);   /* the first two */
    struct proc_result r = run_macvm("pvg-log", "--log", log, NULL);
    cr_expect_eq(r.status, 0, "resets without a negotiation are still a finding: exit %d; %s", r.status, r.err);
    cr_expect(strstr(r.out, "Resets: 2 device resets") && !strstr(r.out, "Reset loop"), "two resets: %s", r.out);
    cr_expect(strstr(r.out, "Negotiation: none in this log") != NULL, "%s", r.out);
    proc_result_free(&r);
    tk_write(log, b.data, b.len);
    r = run_macvm("pvg-log", "--log", log, NULL);
    cr_expect(strstr(r.out, "Reset loop") && strstr(r.out, "device reset 5\n") && !strstr(r.out, "device reset 6"),
              "nine resets: %s", r.out);
    cr_expect(strstr(r.out, "4 more resets, the last at 2026-03-09 14:02:18.000000-0400") != NULL, "%s", r.out);
    proc_result_free(&r);
    buf_free(&b);
    free(log);
}

Test(pvg_log, host_newer_is_unusual, .init = t_tmp_init, .fini = t_tmp_fini)
{
    char *log = t_path_join(t_tmp, "host-newer.ndjson");
    char *line = tl_negotiation(31, 43, "2025-08-01 09:00:00.000001-0400");
    char *text;
    cr_assert(asprintf(&text, "%s\n", line) > 0);
    tk_write_text(log, text);
    struct proc_result r = run_macvm("pvg-log", "--log", log, "--json", NULL);
    cr_assert_eq(r.status, 0, "exit %d; stderr: %s", r.status, r.err);
    cr_expect(strstr(r.out, "\"verdict\":\"host-newer\"") != NULL, "verdict: %s", r.out);
    proc_result_free(&r);
    r = run_macvm("pvg-log", "--log", log, NULL);
    cr_expect(strstr(r.out, "unusual") != NULL, "a host newer than the guest asked should be called unusual: %s", r.out);
    cr_expect(strstr(r.out, "older than the guest expects") == NULL, "wrong direction: %s", r.out);
    proc_result_free(&r);
    free(text);
    free(line);
    free(log);
}

Test(pvg_log, one_object_per_negotiation, .init = t_tmp_init, .fini = t_tmp_fini)
{
    /* A guest that restarted: two negotiations, in the order they happened. */
    char *log = t_path_join(t_tmp, "two.ndjson");
    FILE *f = fopen(log, "wb");
    cr_assert_not_null(f);
    tl_puts(f, "Filtering the log data using \"subsystem == \\\"com.apple.gpusw.ParavirtualizedGraphics\\\"\"\n");
    tl_put_negotiation(f, 43, 31, "2025-08-01 09:00:00.000001-0400", "\n");
    tl_put_negotiation(f, 44, 44, "2025-08-01 09:05:00.000001-0400", "\n");
    fclose(f);
    struct proc_result r = run_macvm("pvg-log", "--log", log, "--json", NULL);
    cr_assert_eq(r.status, 0, "exit %d; stderr: %s", r.status, r.err);
    cr_expect_eq(count_lines(r.out), 3, "want two lines and the summary: %s", r.out);
    char *pairs = tl_pairs(t_tmp, &r);
    tk_expect_str(pairs, "43/31 44/44", "");
    char *out = tk_save(t_tmp, "out.ndjson", r.out, r.out_len);
    char *v = tk_py(out, true, "[o['verdict'] for o in d[:-1]] + [o['timestamp'] for o in d[:-1]]");
    tk_expect_str(v, "[\"guest-newer\", \"equal\", \"2025-08-01 09:00:00.000001-0400\", \"2025-08-01 09:05:00.000001-0400\"]", "");
    free(v);
    free(out);
    free(pairs);
    proc_result_free(&r);
    free(log);
}

Test(pvg_log, none_found_exits_1_with_one_line)
{
    char *log = fixture("logs/pvg-none.ndjson");
    struct proc_result r = run_macvm("pvg-log", "--log", log, "--json", NULL);
    tl_expect_one_line_error(&r, 1, "pvg-none --json");
    cr_expect(strstr(r.err, "no paravirtualized-graphics version negotiation") != NULL, "stderr: %s", r.err);
    cr_expect(strstr(r.err, log) != NULL, "stderr should name the log: %s", r.err);
    proc_result_free(&r);
    r = run_macvm("pvg-log", "--log", log, NULL);
    cr_expect_eq(r.status, 1, "without --json: exit %d; stderr: %s", r.status, r.err);
    cr_expect_eq(count_lines(r.err), 1, "stderr: %s", r.err);
    cr_expect(strstr(r.out, "Waiting for guest driver") != NULL, "the PVG lines should still be shown: %s", r.out);
    proc_result_free(&r);
    free(log);
}

Test(pvg_log, default_source_is_the_newest_run, .init = t_tmp_init, .fini = t_tmp_fini)
{
    char *bundle = t_path_join(t_tmp, "VM.bundle");
    cr_assert_eq(mkdir(bundle, 0755), 0);
    tl_add_run(bundle, "2020-01-01T00-00-01", "logs/pvg-equal.ndjson");
    tl_add_run(bundle, "2020-01-02T00-00-00", "logs/vz-stream.ndjson");
    tl_add_run(bundle, "2020-01-01T23-59-59", "logs/pvg-none.ndjson");
    char *notes = t_path_join(bundle, "logs/notes");   /* not a run folder */
    cr_assert_eq(mkdir(notes, 0755), 0);
    struct proc_result r = run_macvm("pvg-log", bundle, "--json", NULL);
    cr_assert_eq(r.status, 0, "exit %d; stderr: %s", r.status, r.err);
    char *pairs = tl_pairs(t_tmp, &r);
    tk_expect_str(pairs, "43/31", "the newest run (2020-01-02) holds 43/31");
    proc_result_free(&r);
    free(pairs);

    /* No argument at all: ~/VM.bundle. */
    setenv("HOME", t_tmp, 1);
    r = run_macvm("pvg-log", "--json", NULL);
    cr_assert_eq(r.status, 0, "no argument: exit %d; stderr: %s", r.status, r.err);
    pairs = tl_pairs(t_tmp, &r);
    tk_expect_str(pairs, "43/31", "no argument should read ~/VM.bundle's newest run");
    proc_result_free(&r);
    free(pairs);
    free(notes);
    free(bundle);
}

Test(pvg_log, missing_bundle_is_noinput, .init = t_tmp_init, .fini = t_tmp_fini)
{
    char *bundle = t_path_join(t_tmp, "nothing.bundle");
    struct proc_result r = run_macvm("pvg-log", bundle, NULL);
    tl_expect_one_line_error(&r, TL_EX_NOINPUT, "missing bundle");
    cr_expect(strstr(r.err, bundle) != NULL, "stderr should name the bundle: %s", r.err);
    cr_expect(strstr(r.err, "--log") != NULL, "stderr should say what to do (--log FILE): %s", r.err);
    proc_result_free(&r);
    setenv("HOME", t_tmp, 1);   /* no ~/VM.bundle */
    r = run_macvm("pvg-log", NULL);
    tl_expect_one_line_error(&r, TL_EX_NOINPUT, "no ~/VM.bundle");
    proc_result_free(&r);
    free(bundle);
}

Test(pvg_log, bundle_without_runs_is_noinput, .init = t_tmp_init, .fini = t_tmp_fini)
{
    char *bundle = t_path_join(t_tmp, "VM.bundle");
    cr_assert_eq(mkdir(bundle, 0755), 0);
    char *config = t_path_join(bundle, "Config.plist");   /* a bundle, but one that never ran */
    const char *doc = "<plist><dict/></plist>";
    cr_assert_eq(t_write_file(config, doc, strlen(doc)), 0);
    free(config);
    struct proc_result r = run_macvm("pvg-log", bundle, NULL);
    tl_expect_one_line_error(&r, TL_EX_NOINPUT, "no logs/");
    cr_expect(strstr(r.err, "macvm run") != NULL, "stderr should say to run the VM first: %s", r.err);
    proc_result_free(&r);
    char *logs = tk_mkdirs(bundle, "logs");
    r = run_macvm("pvg-log", bundle, NULL);
    tl_expect_one_line_error(&r, TL_EX_NOINPUT, "empty logs/");
    proc_result_free(&r);
    /* The newest run has no log (made with --no-log). */
    tl_add_run(bundle, "2020-01-01T00-00-00", NULL);
    r = run_macvm("pvg-log", bundle, NULL);
    tl_expect_one_line_error(&r, TL_EX_NOINPUT, "run without vz.ndjson");
    proc_result_free(&r);
    free(logs);
    free(bundle);
}

Test(pvg_log, log_file_missing_or_a_directory, .init = t_tmp_init, .fini = t_tmp_fini)
{
    char *missing = t_path_join(t_tmp, "missing.ndjson");
    struct proc_result r = run_macvm("pvg-log", "--log", missing, NULL);
    tl_expect_one_line_error(&r, TL_EX_NOINPUT, "missing --log file");
    cr_expect(strstr(r.err, missing) != NULL, "stderr should name the file: %s", r.err);
    cr_expect(strstr(r.err, "; name a log file") != NULL, "stderr should say what to do: %s", r.err);
    proc_result_free(&r);
    r = run_macvm("pvg-log", "--log", t_tmp, NULL);
    tl_expect_one_line_error(&r, TL_EX_NOINPUT, "--log DIRECTORY");
    cr_expect(strstr(r.err, "; name a log file") != NULL, "stderr should say what to do: %s", r.err);
    proc_result_free(&r);
    free(missing);
}

/* A run's vz.ndjson that is a FIFO is named, never waited on, with another run to read. */
Test(pvg_log, a_run_log_that_is_a_fifo_says_what_to_do, .init = t_tmp_init, .fini = t_tmp_fini, .timeout = 20)
{
    char *bundle = t_path_join(t_tmp, "VM.bundle");
    cr_assert_eq(mkdir(bundle, 0755), 0);
    char *config = t_path_join(bundle, "Config.plist");
    const char *doc = "<plist><dict/></plist>";
    cr_assert_eq(t_write_file(config, doc, strlen(doc)), 0);
    tl_add_run(bundle, "2020-01-01T00-00-00", "logs/pvg-equal.ndjson");
    char *log = t_path_join(bundle, "logs/2020-01-01T00-00-00/vz.ndjson");
    cr_assert(unlink(log) == 0 && mkfifo(log, 0644) == 0);
    struct proc_result r = run_macvm("pvg-log", bundle, NULL);
    tl_expect_one_line_error(&r, TL_EX_NOINPUT, "a FIFO vz.ndjson");
    cr_expect(strstr(r.err, "vz.ndjson: is a FIFO") && strstr(r.err, "--run NAME"), "stderr: %s", r.err);
    proc_result_free(&r);
    free(log);
    free(config);
    free(bundle);
}

#ifndef __APPLE__
Test(pvg_log, last_needs_a_mac)
{
    struct proc_result r = run_macvm("pvg-log", "--last", "1h", NULL);
    tl_expect_one_line_error(&r, TL_EX_UNAVAILABLE, "--last 1h off macOS");
    cr_expect(strstr(r.err, "--log") != NULL, "stderr should offer --log FILE: %s", r.err);
    proc_result_free(&r);
}
#endif

Test(pvg_log, bad_last_is_usage)
{
    static const char *const bad[] = {"1x", "h", "", "10", "1hh", "-1h", "1.5h", "1 h", "h1"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        struct proc_result r = run_macvm("pvg-log", "--last", bad[i], NULL);
        char what[64];
        snprintf(what, sizeof what, "--last '%s'", bad[i]);
        tl_expect_one_line_error(&r, TL_EX_USAGE, what);
        proc_result_free(&r);
    }
}

Test(pvg_log, two_sources_are_usage, .init = t_tmp_init, .fini = t_tmp_fini)
{
    char *log = fixture("logs/vz-stream.ndjson");
    char *b1 = t_path_join(t_tmp, "a.bundle"), *b2 = t_path_join(t_tmp, "b.bundle");
    mkdir(b1, 0755);
    mkdir(b2, 0755);
    struct proc_result r = run_macvm("pvg-log", "--log", log, "--last", "1h", NULL);
    tl_expect_one_line_error(&r, TL_EX_USAGE, "--log and --last");
    proc_result_free(&r);
    r = run_macvm("pvg-log", b1, "--log", log, NULL);
    tl_expect_one_line_error(&r, TL_EX_USAGE, "bundle and --log");
    proc_result_free(&r);
    r = run_macvm("pvg-log", b1, "--last", "1h", NULL);
    tl_expect_one_line_error(&r, TL_EX_USAGE, "bundle and --last");
    proc_result_free(&r);
    r = run_macvm("pvg-log", b1, b2, NULL);
    tl_expect_one_line_error(&r, TL_EX_USAGE, "two bundles");
    proc_result_free(&r);
    free(b1);
    free(b2);
    free(log);
}

/* ============================ hostile input ============================ */

/* Writes the hostile mix: good negotiations 43/31 ... 49/37 between bad lines.
 * Negotiations with a guest version of 90 or more sit in lines whose fate is
 * macvm's choice (oversized, NUL bytes, 100,000-deep nesting); 93/9 sits in
 * a line cut inside a string, which no reader may take for a negotiation. */
static void tl_write_hostile(const char *path)
{
    FILE *f = fopen(path, "wb");
    cr_assert_not_null(f, "tests: open %s: %s", path, strerror(errno));
    const char *pvg = "{\"subsystem\":\"com.apple.gpusw.ParavirtualizedGraphics\",\"category\":\"renderer\","
                      "\"messageType\":\"Default\",\"timestamp\":\"2025-07-27 15:47:11.000000-0400\",";
    /* 1. the header `log stream` prints first (it names the needle, too) */
    tl_puts(f, "Filtering the log data using \"subsystem == \"com.apple.gpusw.ParavirtualizedGraphics\" OR process == "
               "\"com.apple.Virtualization.VirtualMachine\" OR subsystem BEGINSWITH[c] \"com.apple.virtualization\"\"\n");
    /* 2. good, with \/ escapes and unknown fields */
    tl_put_negotiation(f, 43, 31, "2025-07-27 15:47:10.000001-0400", "\n");
    /* 3. cut inside a string */
    tl_puts(f, pvg);
    tl_puts(f, "\"eventMessage\":\"Guest requested binary version: 93, setting binary version to: 9\n");
    /* 4. invalid UTF-8 in the message of a good negotiation */
    tl_puts(f, pvg);
    tl_puts(f, "\"eventMessage\":\"Guest requested binary version: 44, setting binary version to: 32 \xff\xfe\xc3( \xed\xa0\x80 \xc0\xaf\"}\n");
    /* 5. CRLF */
    tl_put_negotiation(f, 45, 33, "2025-07-27 15:47:12.000001-0400", "\r\n");
    /* 6. 10 MB with the needle, 7. 10 MB without */
    tl_puts(f, pvg);
    tl_puts(f, "\"eventMessage\":\"Guest requested binary version: 90, setting binary version to: 9\",\"pad\":\"");
    tl_fill(f, 'x', 10u << 20);
    tl_puts(f, "\"}\n");
    tl_puts(f, "{\"subsystem\":\"com.apple.virtualization\",\"eventMessage\":\"");
    tl_fill(f, 'y', 10u << 20);
    tl_puts(f, "\"}\n");
    /* 8. good */
    tl_put_negotiation(f, 46, 34, "2025-07-27 15:47:13.000001-0400", "\n");
    /* 9. NUL inside a string, 10. a line of NULs around the needle, NULs after an object */
    tl_puts(f, pvg);
    TL_PUT_LITERAL(f, "\"eventMessage\":\"Guest requested binary version: 91,\0 setting binary version to: 9\"}\n");
    TL_PUT_LITERAL(f, "\0\0\0ParavirtualizedGraphics\0{\0}\0\n");
    tl_puts(f, pvg);
    TL_PUT_LITERAL(f, "\"eventMessage\":\"Guest requested binary version: 95, setting binary version to: 9\"}\0\0\n");
    /* 11. good */
    tl_put_negotiation(f, 47, 35, "2025-07-27 15:47:14.000001-0400", "\n");
    /* 12. 100,000-deep arrays, 13. 100,000-deep objects, in PVG lines */
    tl_puts(f, pvg);
    tl_puts(f, "\"eventMessage\":\"Guest requested binary version: 92, setting binary version to: 9\",\"deep\":");
    tl_fill(f, '[', 100000);
    tl_fill(f, ']', 100000);
    tl_puts(f, "}\n");
    tl_puts(f, pvg);
    tl_puts(f, "\"eventMessage\":\"Guest requested binary version: 94, setting binary version to: 9\",\"deep\":");
    for (int i = 0; i < 100000; i++)
        tl_puts(f, "{\"a\":");
    tl_puts(f, "1");
    tl_fill(f, '}', 100000);
    tl_puts(f, "}\n");
    /* 14. good */
    tl_put_negotiation(f, 48, 36, "2025-07-27 15:47:15.000001-0400", "\n");
    /* 15. a line of another subsystem with unknown fields; 16. log show's trailer; blank lines */
    tl_puts(f, "{\"subsystem\":\"com.apple.virtualization\",\"x\":{\"y\":[1,{\"z\":null}]},\"eventMessage\":\"ok\"}\n\n   \n");
    tl_puts(f, "{\"count\":6,\"finished\":1}\n");
    /* 17. good, the last line, without a newline */
    tl_put_negotiation(f, 49, 37, "2025-07-27 15:47:16.000001-0400", "");
    cr_assert_eq(fclose(f), 0);
}

/* The pairs without those whose fate is macvm's choice (guest version >= 90). */
static char *tl_pairs_kept(const char *dir, const struct proc_result *r)
{
    char *out = tk_save(dir, "pvg-out.ndjson", r->out, r->out_len);
    char *pairs = tk_py(out, true,
                        "list(d[-1]) == ['summary'] and ' '.join('%d/%d' % (o['guest_version'], o['host_version']) "
                        "for o in d[:-1] if o['guest_version'] < 90 or o['guest_version'] == 93)");
    free(out);
    return pairs;
}

Test(pvg_log_hostile, good_negotiations_survive_bad_lines, .init = t_tmp_init, .fini = t_tmp_fini, .timeout = 120)
{
    char *log = t_path_join(t_tmp, "hostile.ndjson");
    tl_write_hostile(log);
    struct proc_result r = run_macvm("pvg-log", "--log", log, "--json", NULL);
    cr_assert(r.status >= 0 && r.status < 128, "crashed (status %d); stderr: %s", r.status, r.err);
    cr_assert_eq(r.status, 0, "exit %d; stderr: %s", r.status, r.err);
    char *pairs = tl_pairs_kept(t_tmp, &r);   /* also: stdout is valid UTF-8 NDJSON */
    tk_expect_str(pairs, "43/31 44/32 45/33 46/34 47/35 48/36 49/37", "every good negotiation, in order, and nothing from the cut line (93/9)");
    unsigned long long malformed = 0, oversized = 0;
    cr_expect(tl_skipped(r.err, &malformed, &oversized),
              "stderr should count the skipped records (\"skipped N malformed and M oversized records\"): %s", r.err);
    cr_expect_geq(malformed, 1, "the line cut inside a string is malformed; stderr: %s", r.err);
    cr_expect_geq(oversized, 1, "the 10 MB PVG line is over the record limit; stderr: %s", r.err);
    cr_expect_eq(count_lines(r.err), 1, "stderr should be the one summary line: %s", r.err);
    cr_expect(strstr(r.err, log) != NULL, "stderr should name the log: %s", r.err);
    /* The CRLF line's message carries no \r. */
    cr_expect(strstr(r.out, "\\r") == NULL, "a CR leaked into a message: %s", r.out);
    proc_result_free(&r);

    /* The human output ends with the last negotiation. */
    r = run_macvm("pvg-log", "--log", log, NULL);
    cr_assert_eq(r.status, 0, "text: exit %d; stderr: %s", r.status, r.err);
    cr_expect(strstr(r.out, "Negotiation: guest requested 49, host set 37") != NULL, "text: no summary of the last one");
    cr_expect(r.out_len < (1u << 20), "text: the 10 MB lines should not be echoed (%zu bytes out)", r.out_len);
    proc_result_free(&r);
    free(pairs);
    free(log);
}

Test(pvg_log_hostile, text_style_with_crlf, .init = t_tmp_init, .fini = t_tmp_fini)
{
    char *src = fixture("logs/vz-show.txt");
    size_t n;
    char *text = (char *)t_read_file(src, &n);
    char *crlf = malloc(2 * n + 1), *q = crlf;
    cr_assert_not_null(crlf);
    for (size_t i = 0; i < n; i++) {
        if (text[i] == '\n')
            *q++ = '\r';
        *q++ = text[i];
    }
    char *log = tk_save(t_tmp, "crlf.txt", crlf, (size_t)(q - crlf));
    struct proc_result r = run_macvm("pvg-log", "--log", log, "--json", NULL);
    cr_assert_eq(r.status, 0, "exit %d; stderr: %s", r.status, r.err);
    cr_expect(strstr(r.out, "\"message\":\"Guest requested binary version: 43, setting binary version to: 31\"") != NULL,
              "the message should come without the CR: %s", r.out);
    proc_result_free(&r);
    free(log);
    free(crlf);
    free(text);
    free(src);
}

/* vz-show.json cut at offset `at`. */
static char *tl_cut_array(const char *dir, const char *name, size_t at)
{
    char *src = fixture("logs/vz-show.json");
    size_t n;
    char *text = (char *)t_read_file(src, &n);
    cr_assert(at < n);
    char *path = tk_save(dir, name, text, at);
    free(text);
    free(src);
    return path;
}

Test(pvg_log_hostile, json_array_cut_mid_object, .init = t_tmp_init, .fini = t_tmp_fini)
{
    char *src = fixture("logs/vz-show.json");
    size_t n;
    char *text = (char *)t_read_file(src, &n);
    const char *neg = strstr(text, "\"Guest requested binary version: 43");
    cr_assert_not_null(neg);
    const char *next = strstr(neg, "},{");
    cr_assert_not_null(next, "the negotiation is not the last object");

    /* Cut 200 bytes into the object after the negotiation: found, and the cut object counted. */
    char *after = tl_cut_array(t_tmp, "after.json", (size_t)(next - text) + 200);
    struct proc_result r = run_macvm("pvg-log", "--log", after, "--json", NULL);
    cr_assert(r.status >= 0 && r.status < 128, "crashed (status %d)", r.status);
    cr_expect_eq(r.status, 0, "exit %d; stderr: %s", r.status, r.err);
    char *pairs = tl_pairs(t_tmp, &r);
    tk_expect_str(pairs, "43/31", "");
    unsigned long long malformed = 0, oversized = 0;
    cr_expect(tl_skipped(r.err, &malformed, &oversized) && malformed == 1 && oversized == 0,
              "the cut object should be counted as one malformed record: %s", r.err);
    proc_result_free(&r);

    /* Cut inside the negotiation itself: none found (exit 1), no crash. */
    char *inside = tl_cut_array(t_tmp, "inside.json", (size_t)(neg - text) + 20);
    r = run_macvm("pvg-log", "--log", inside, "--json", NULL);
    cr_expect_eq(r.status, 1, "exit %d; stderr: %s", r.status, r.err);
    cr_expect_eq(r.out_len, 0, "stdout: %s", r.out);
    proc_result_free(&r);

    /* Only the opening bracket. */
    char *bracket = tl_cut_array(t_tmp, "bracket.json", 1);
    r = run_macvm("pvg-log", "--log", bracket, "--json", NULL);
    cr_expect_eq(r.status, 1, "exit %d; stderr: %s", r.status, r.err);
    proc_result_free(&r);
    free(bracket);
    free(inside);
    free(pairs);
    free(after);
    free(text);
    free(src);
}

Test(pvg_log_hostile, json_array_with_brackets_in_strings, .init = t_tmp_init, .fini = t_tmp_fini)
{
    char *neg = tl_negotiation(43, 31, "2025-07-27 15:47:10.504275-0400");
    char *text;
    cr_assert(asprintf(&text,
                       "[\n  {\n    \"subsystem\" : \"com.apple.gpusw.ParavirtualizedGraphics\",\n"
                       "    \"category\" : \"renderer\",\n    \"timestamp\" : \"2025-07-27 15:47:10.000000-0400\",\n"
                       "    \"eventMessage\" : \"odd } ] { [ \\\" \\\\\\\" }] text\"\n  },\n"
                       "  [1, [2, {\"3\": \"]}\"}]],\n  \"a string at the top\",\n  %s\n]\n", neg) > 0);
    char *log = t_path_join(t_tmp, "brackets.json");
    tk_write_text(log, text);
    struct proc_result r = run_macvm("pvg-log", "--log", log, "--json", NULL);
    cr_assert_eq(r.status, 0, "exit %d; stderr: %s", r.status, r.err);
    char *pairs = tl_pairs(t_tmp, &r);
    tk_expect_str(pairs, "43/31", "");
    proc_result_free(&r);
    r = run_macvm("pvg-log", "--log", log, NULL);
    cr_expect(strstr(r.out, "odd } ] { [ \" \\\" }] text") != NULL, "the message with brackets, intact: %s", r.out);
    proc_result_free(&r);
    free(pairs);
    free(log);
    free(text);
    free(neg);
}

/* The same 3 MiB negotiation line, at the start of a log and after 3 MiB of
 * other lines: macvm documents "longer records [than 1 MiB] are skipped and
 * counted", so where the line lies must not decide whether it is read. */
Test(pvg_log_hostile, long_record_fate_does_not_depend_on_its_offset, .init = t_tmp_init, .fini = t_tmp_fini)
{
    char *first = t_path_join(t_tmp, "first.ndjson"), *later = t_path_join(t_tmp, "later.ndjson");
    const char *head = "{\"subsystem\":\"com.apple.gpusw.ParavirtualizedGraphics\",\"category\":\"renderer\","
                       "\"timestamp\":\"2025-07-27 15:47:10.504275-0400\",\"eventMessage\":\"Guest requested binary "
                       "version: 43, setting binary version to: 31\",\"pad\":\"";
    for (int k = 0; k < 2; k++) {
        FILE *f = fopen(k ? later : first, "wb");
        cr_assert_not_null(f);
        if (k) {
            char line[1024];
            snprintf(line, sizeof line, "{\"subsystem\":\"com.apple.virtualization\",\"eventMessage\":\"%0900d\"}\n", 0);
            for (size_t done = 0; done < (3u << 20); done += strlen(line))
                tl_puts(f, line);
        }
        tl_puts(f, head);
        tl_fill(f, 'x', 3u << 20);
        tl_puts(f, "\"}\n");
        cr_assert_eq(fclose(f), 0);
    }
    struct proc_result a = run_macvm("pvg-log", "--log", first, "--json", NULL);
    struct proc_result b = run_macvm("pvg-log", "--log", later, "--json", NULL);
    cr_assert(a.status < 128 && b.status < 128, "crashed: %d %d", a.status, b.status);
    cr_expect_eq(a.status, b.status,
                 "the same 3 MiB line is %s at offset 0 (exit %d) but %s after 3 MiB of other lines (exit %d); "
                 "stderr at 0: %s; stderr after: %s",
                 a.status == 0 ? "read" : "skipped", a.status, b.status == 0 ? "read" : "skipped", b.status, a.err,
                 b.err);
    proc_result_free(&a);
    proc_result_free(&b);
    free(first);
    free(later);
}

/* ============================ flat memory ============================ */

/* Runs $MACVM_BIN pvg-log --log FILE --json with RLIMIT_AS = limit; returns the
 * exit status, stdout in *out, and the peak resident size in KiB. */
static int tl_run_limited(const char *file, rlim_t limit, char **out, long *maxrss_kib)
{
    const char *bin = t_env_or("MACVM_BIN", "./macvm");
    char *outp = t_path_join(t_tmp, "limited.out"), *errp = t_path_join(t_tmp, "limited.err");
    pid_t pid = fork();
    cr_assert(pid >= 0, "fork: %s", strerror(errno));
    if (pid == 0) {
        struct rlimit rl = {limit, limit};
        int o = open(outp, O_WRONLY | O_CREAT | O_TRUNC, 0644), e = open(errp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        int in = open("/dev/null", O_RDONLY);
        if (o < 0 || e < 0 || in < 0 || setrlimit(RLIMIT_AS, &rl) != 0 || dup2(in, 0) < 0 || dup2(o, 1) < 0 ||
            dup2(e, 2) < 0)
            _exit(126);
        execl(bin, bin, "pvg-log", "--log", file, "--json", (char *)NULL);
        _exit(127);
    }
    int st;
    struct rusage ru;
    while (wait4(pid, &st, 0, &ru) < 0)
        cr_assert_eq(errno, EINTR, "wait4: %s", strerror(errno));
    size_t n;
    *out = (char *)t_read_file(outp, &n);
    char *err = (char *)t_read_file(errp, &n);
    if (!(WIFEXITED(st) && WEXITSTATUS(st) == 0))
        cr_log_error("stderr of the limited run: %s", err);
    free(err);
    free(outp);
    free(errp);
    *maxrss_kib = ru.ru_maxrss;
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static bool tl_asan(void)
{
    return strstr(t_env_or("MACVM_BIN", "./macvm"), "asan") != NULL;
}

/* Writes about 200 MiB: blocks of ordinary Virtualization lines, a 43/31
 * negotiation in the middle and a 44/32 one at the end.  array: as one
 * `log show --style json` array instead of ndjson. */
static void tl_write_big(const char *path, bool array)
{
    FILE *f = fopen(path, "wb");
    cr_assert_not_null(f);
    size_t cap = 4u << 20, len = 0;
    char *block = malloc(cap + 2048);
    cr_assert_not_null(block);
    for (unsigned i = 0; len < cap; i++)
        len += (size_t)sprintf(block + len,
                               "%s{\"timestamp\":\"2025-07-27 15:47:10.%06u-0400\",\"messageType\":\"Info\","
                               "\"subsystem\":\"com.apple.Virtualization.VirtualMachine\",\"category\":\"virtio\","
                               "\"processImagePath\":\"" TL_PVG_XPC "\",\"eventMessage\":\"virtio-blk: request %u "
                               "completed in %u us, queue depth %u, nothing to see here, a line of ordinary "
                               "chatter that makes a log big, as a long run's log is\"}%s\n",
                               array ? "  " : "", i % 1000000, i, i % 977, i % 64, array ? "," : "");
    if (array)
        tl_puts(f, "[\n");
    for (int b = 0; b < 50; b++) {
        tl_put(f, block, len);
        if (b == 25)
            tl_put_negotiation(f, 43, 31, "2025-07-27 15:50:00.000001-0400", array ? ",\n" : "\n");
    }
    tl_put_negotiation(f, 44, 32, "2025-07-27 16:00:00.000001-0400", array ? "\n]\n" : "\n");
    cr_assert_eq(fclose(f), 0);
    free(block);
}

static void tl_flat_memory(bool array)
{
    if (tl_asan()) {
        t_tmp_fini();
        cr_skip_test("AddressSanitizer reserves terabytes of address space: no RLIMIT_AS test under it");
    }
    char *log = t_path_join(t_tmp, array ? "big.json" : "big.ndjson");
    tl_write_big(log, array);
    struct stat st;
    cr_assert_eq(stat(log, &st), 0);
    cr_assert_geq(st.st_size, 200ll << 20, "the log should be about 200 MiB");
    char *out;
    long maxrss;
    int status = tl_run_limited(log, 256u << 20, &out, &maxrss);
    unlink(log);
    cr_assert_eq(status, 0, "pvg-log on a %lld MiB log under a 256 MiB address-space limit: exit %d",
                 (long long)(st.st_size >> 20), status);
    cr_expect(strstr(out, "\"guest_version\":43,\"host_version\":31") != NULL, "the middle negotiation: %s", out);
    cr_expect(strstr(out, "\"guest_version\":44,\"host_version\":32") != NULL, "the last negotiation: %s", out);
    cr_expect_eq(count_lines(out), 3, "two negotiations and the summary: %s", out);
    cr_expect_lt(maxrss, 64 * 1024, "peak resident size %ld KiB for a 200 MiB log: memory should stay flat", maxrss);
    free(out);
    free(log);
}

Test(pvg_log_memory, flat_on_200_mib_ndjson, .init = t_tmp_init, .fini = t_tmp_fini, .timeout = 300)
{
    tl_flat_memory(false);
}

Test(pvg_log_memory, flat_on_200_mib_json_array, .init = t_tmp_init, .fini = t_tmp_fini, .timeout = 300)
{
    tl_flat_memory(true);
}

/* ============================ capture during a run ============================ */

/* The fixture bundle, copied to t_tmp/name, and a feed for the stand-in. */
static char *tl_capture_setup(const char *name, char **feed)
{
    setenv("HOME", t_tmp, 1);
    char *bundle = tk_make_bundle(t_tmp, name, NULL);
    *feed = t_path_join(t_tmp, "feed.ndjson");
    char *neg = tl_negotiation(43, 31, "2025-07-27 15:47:10.504275-0400");
    char *text;
    cr_assert(asprintf(&text, "Filtering the log data using \"...\"\n%s\n{\"subsystem\":\"com.apple.virtualization\","
                              "\"messageType\":\"Default\",\"eventMessage\":\"Starting virtual machine\"}\n", neg) > 0);
    tk_write_text(*feed, text);
    free(text);
    free(neg);
    return bundle;
}

/* A bundle in a fresh HOME and a stand-in log tool (MACVM_LOG_TOOL) that prints
 * the fixture feed and then waits, as `log stream` does. */
struct tl_capture {
    char *bundle, *feed, *tool;
};

static void tl_capture_begin(struct tl_capture *c)
{
    c->bundle = tl_capture_setup("VM.bundle", &c->feed);
    c->tool = tk_stand_in(t_tmp, "log", c->feed, "exec sleep 30");
    setenv("MACVM_LOG_TOOL", c->tool, 1);
}

static void tl_capture_end(struct tl_capture *c)
{
    free(c->tool);
    free(c->feed);
    free(c->bundle);
}

static char *tl_read_text(const char *dir, const char *name)
{
    char *p = t_path_join(dir, name);
    size_t n;
    char *s = (char *)t_read_file(p, &n);
    free(p);
    return s;
}

Test(log_capture, stand_in_records_into_the_run_folder, .init = t_tmp_init, .fini = t_tmp_fini, .timeout = 60)
{
    char *feed;
    char *bundle = tl_capture_setup("my vm; touch pwned & echo $HOME.bundle", &feed);
    char *tool = tk_stand_in(t_tmp, "log tool", feed, "exec sleep 30");
    setenv("MACVM_LOG_TOOL", tool, 1);
    time_t before = time(NULL);
    struct proc_result r = run_fake("run", "--headless", bundle, NULL);
    cr_assert_eq(r.status, 0, "run: exit %d; stderr: %s", r.status, r.err);
    cr_expect(!tk_file_exists(t_tmp, "pwned") && access("pwned", F_OK) != 0, "a shell ran the bundle path");

    /* The stand-in ran with exactly this argv. */
    char *argv = tl_read_text(t_tmp, "log tool.argv");
    char *want;
    cr_assert(asprintf(&want, "%s\nstream\n--style\nndjson\n--level\ndebug\n--predicate\n", tool) > 0);
    cr_expect(strncmp(argv, want, strlen(want)) == 0, "argv should start\n%s\ngot\n%s", want, argv);
    const char *pred = argv + (strncmp(argv, want, strlen(want)) == 0 ? strlen(want) : 0);
    cr_expect_eq(count_lines(argv), 8, "argv should be the tool and 7 arguments, got:\n%s", argv);
    cr_expect(strstr(pred, "subsystem == \"com.apple.gpusw.ParavirtualizedGraphics\"") != NULL, "predicate: %s", pred);
    cr_expect(strstr(pred, "process == \"com.apple.Virtualization.VirtualMachine\"") != NULL, "predicate: %s", pred);
    cr_expect(strstr(pred, "subsystem BEGINSWITH[c] \"com.apple.virtualization\"") != NULL, "predicate: %s", pred);
    cr_expect(strstr(pred, "process == \"com.apple.Virtualization.Installation\"") != NULL, "predicate: %s", pred);
    cr_expect_eq(tk_count(pred, " OR "), 3, "the four clauses joined by OR: %s", pred);

    /* Its output is the run's vz.ndjson. */
    char *run = tk_newest_run(bundle);
    char *got = tl_read_text(run, "vz.ndjson"), *fed = (char *)t_read_file(feed, &(size_t){0});
    tk_expect_str(got, fed, "vz.ndjson should hold what the log tool printed");
    cr_expect(strstr(r.err, run) != NULL, "stderr should name the run's folder %s: %s", run, r.err);

    /* It was stopped. */
    pid_t pid = tk_stand_in_pid(tool);
    cr_expect(pid > 0, "the stand-in never ran");
    cr_expect(!tk_alive(pid), "the log tool (pid %d) still runs after the VM stopped", (int)pid);
    cr_expect_lt(time(NULL) - before, 10, "stopping the capture should take a moment, not the tool's 30 s");

    /* pvg-log reads that run by default. */
    struct proc_result p = run_macvm("pvg-log", bundle, "--json", NULL);
    cr_expect_eq(p.status, 0, "pvg-log BUNDLE after the run: exit %d; stderr: %s", p.status, p.err);
    cr_expect(strstr(p.out, "\"guest_version\":43") != NULL, "pvg-log: %s", p.out);
    proc_result_free(&p);
    if (pid > 0 && tk_alive(pid))
        kill(pid, SIGKILL);
    free(fed);
    free(got);
    free(run);
    free(want);
    free(argv);
    proc_result_free(&r);
    free(tool);
    free(feed);
    free(bundle);
}

Test(log_capture, tool_ignoring_sigint_is_killed, .init = t_tmp_init, .fini = t_tmp_fini, .timeout = 60)
{
    char *feed;
    char *bundle = tl_capture_setup("VM.bundle", &feed);
    char *tool = tk_stand_in(t_tmp, "stubborn", feed, "trap '' INT\nexec sleep 30");
    setenv("MACVM_LOG_TOOL", tool, 1);
    time_t before = time(NULL);
    struct proc_result r = run_fake("run", "--headless", bundle, NULL);
    cr_expect_eq(r.status, 0, "run: exit %d; stderr: %s", r.status, r.err);
    pid_t pid = tk_stand_in_pid(tool);
    cr_expect(pid > 0, "the stand-in never ran");
    cr_expect(!tk_alive(pid), "a log tool that ignores SIGINT (pid %d) outlived the run", (int)pid);
    cr_expect_lt(time(NULL) - before, 15, "the run should not wait for the tool's 30 s");
    if (pid > 0 && tk_alive(pid))
        kill(pid, SIGKILL);
    proc_result_free(&r);
    free(tool);
    free(feed);
    free(bundle);
}

static void tl_expect_log_null(const char *bundle)
{
    char *run = tk_newest_run(bundle), *json = t_path_join(run, "run.json");
    char *v = tk_py(json, false, "'%s %s' % (d['log'], d['outcome']['result'])");
    tk_expect_str(v, "None guest-stopped", "run.json should say there is no log, and the run went well");
    free(v);
    free(json);
    free(run);
}

Test(log_capture, missing_tool_only_warns, .init = t_tmp_init, .fini = t_tmp_fini, .timeout = 60)
{
    char *feed;
    char *bundle = tl_capture_setup("VM.bundle", &feed);
    char *tool = t_path_join(t_tmp, "no-such-log-tool");
    setenv("MACVM_LOG_TOOL", tool, 1);
    struct proc_result r = run_fake("run", "--headless", bundle, NULL);
    cr_expect_eq(r.status, 0, "a run without its log should still succeed: exit %d; stderr: %s", r.status, r.err);
    cr_expect(strstr(r.err, "macvm: ") != NULL && strstr(r.err, tool) != NULL,
              "stderr should warn and name the tool: %s", r.err);
    tl_expect_log_null(bundle);
    proc_result_free(&r);
    free(tool);
    free(feed);
    free(bundle);
}

Test(log_capture, tool_exiting_at_once_only_warns, .init = t_tmp_init, .fini = t_tmp_fini, .timeout = 60)
{
    char *feed;
    char *bundle = tl_capture_setup("VM.bundle", &feed);
    char *tool = tk_stand_in(t_tmp, "no-permission", NULL, "echo 'log: Must be admin to run stream command' >&2\nexit 64");
    setenv("MACVM_LOG_TOOL", tool, 1);
    struct proc_result r = run_fake("run", "--headless", bundle, NULL);
    cr_expect_eq(r.status, 0, "exit %d; stderr: %s", r.status, r.err);
    cr_expect(strstr(r.err, "macvm: ") != NULL && strstr(r.err, tool) != NULL,
              "stderr should warn and name the tool: %s", r.err);
    cr_expect(tk_stand_in_pid(tool) > 0, "the stand-in never ran");
    tl_expect_log_null(bundle);
    proc_result_free(&r);
    free(tool);
    free(feed);
    free(bundle);
}

Test(log_capture, no_log_starts_nothing, .init = t_tmp_init, .fini = t_tmp_fini, .timeout = 60)
{
    struct tl_capture c;
    tl_capture_begin(&c);
    struct proc_result r = run_fake("run", "--headless", "--no-log", c.bundle, NULL);
    cr_expect_eq(r.status, 0, "exit %d; stderr: %s", r.status, r.err);
    cr_expect_eq(tk_stand_in_pid(c.tool), -1, "--no-log started the log tool");
    char *run = tk_newest_run(c.bundle);
    cr_expect(!tk_file_exists(run, "vz.ndjson"), "--no-log wrote a vz.ndjson");
    char *json = t_path_join(run, "run.json");
    char *v = tk_py(json, false, "'%s %s' % (d['log'], d['spec']['capture_log'])");
    tk_expect_str(v, "None False", "");
    free(v);
    free(json);
    free(run);
    proc_result_free(&r);
    tl_capture_end(&c);
}

Test(log_capture, run_json_records_the_run, .init = t_tmp_init, .fini = t_tmp_fini, .timeout = 60)
{
    struct tl_capture c;
    tl_capture_begin(&c);
    time_t before = time(NULL);
    struct proc_result r = run_fake("run", "--headless", c.bundle, NULL);
    time_t after = time(NULL);
    cr_assert_eq(r.status, 0, "exit %d; stderr: %s", r.status, r.err);
    char *run = tk_newest_run(c.bundle), *json = t_path_join(run, "run.json");
    char *keys = tk_py(json, false, "sorted(k for k in ('spec', 'host', 'started', 'stopped', 'outcome', 'command') if k in d)");
    tk_expect_str(keys, "[\"command\", \"host\", \"outcome\", \"spec\", \"started\", \"stopped\"]", "run.json keys");
    char *host = tk_py(json, false, "'%(os_version)s %(os_build)s %(model)s %(chip)s' % d['host']");
    tk_expect_str(host, "14.5 23F79 Mac14,2 Apple M2", "the host as the bridge told it");
    char *spec = tk_py(json, false, "'%s %s %s %s %s %s' % (d['spec']['cpu_count'], d['spec']['memory_bytes'], "
                                    "d['spec']['mac_address'], d['spec']['headless'], d['spec']['start_mode'], "
                                    "d['spec']['disk_image'] == sys.argv[1].rsplit('/logs/', 1)[0] + '/Disk.img')");
    tk_expect_str(spec, "4 8589934592 8a:2c:11:de:ad:01 True normal True", "the spec from Config.plist");
    char *cmd = tk_py(json, false, "d['command']");
    char *want_cmd;
    cr_assert(asprintf(&want_cmd, "[\"run\", \"--headless\", \"%s\"]", c.bundle) > 0);
    tk_expect_str(cmd, want_cmd, "the command line");
    char *outcome = tk_py(json, false, "'%s %s %s' % (d['outcome']['result'], 'error' in d['outcome'], d['log'])");
    tk_expect_str(outcome, "guest-stopped False vz.ndjson", "");
    char *times = tk_py(json, false, "'%d %d %s %s' % (d['started_unix'], d['stopped_unix'], "
                                     "d['started'][:4] == str(__import__('time').localtime(d['started_unix']).tm_year), "
                                     "len(d['stopped']) >= 19)");
    long long s = 0, e = 0;
    char ok1[8] = "", ok2[8] = "";
    cr_expect_eq(sscanf(times, "%lld %lld %7s %7s", &s, &e, ok1, ok2), 4, "times: %s", times);
    cr_expect(s >= before && s <= e && e <= after, "started %lld and stopped %lld should lie in [%lld, %lld]", s, e,
              (long long)before, (long long)after);
    cr_expect(strcmp(ok1, "True") == 0, "started should be a readable time: %s" "\n  got:  %s\n  want: %s", times, ok1, "True");
    cr_expect(strcmp(ok2, "True") == 0, "stopped should be a readable time: %s" "\n  got:  %s\n  want: %s", times, ok2, "True");
    free(times);
    free(outcome);
    free(want_cmd);
    free(cmd);
    free(spec);
    free(host);
    free(keys);
    free(json);
    free(run);
    proc_result_free(&r);
    tl_capture_end(&c);
}

Test(log_capture, error_outcome_with_advice, .init = t_tmp_init, .fini = t_tmp_fini, .timeout = 60)
{
    struct tl_capture c;
    tl_capture_begin(&c);
    setenv("MACVM_FAKE_OUTCOME",
           "error:VZErrorDomain:6:The maximum supported number of active virtual machines has been reached.", 1);
    struct proc_result r = run_fake("run", "--headless", c.bundle, NULL);
    cr_expect_eq(r.status, TL_EX_SOFTWARE, "a Virtualization error: exit %d; stderr: %s", r.status, r.err);
    cr_expect(strstr(r.err, "The maximum supported number of active virtual machines has been reached.") != NULL,
              "stderr should show the error: %s", r.err);
    cr_expect(strstr(r.err, "two macOS VMs") != NULL, "stderr should give the advice: %s", r.err);
    char *run = tk_newest_run(c.bundle), *json = t_path_join(run, "run.json");
    char *v = tk_py(json, false, "'|'.join(str(x) for x in (d['outcome']['result'], d['outcome']['error']['domain'], "
                                 "d['outcome']['error']['code'], d['outcome']['error']['message'], "
                                 "'two macOS VMs' in d['outcome']['advice']))");
    tk_expect_str(v, "error|VZErrorDomain|6|The maximum supported number of active virtual machines has been "
                        "reached.|True", "run.json outcome");
    free(v);
    free(json);
    free(run);
    proc_result_free(&r);
    tl_capture_end(&c);
}

Test(log_capture, only_the_newest_20_runs_stay, .init = t_tmp_init, .fini = t_tmp_fini, .timeout = 60)
{
    struct tl_capture c;
    tl_capture_begin(&c);
    for (int i = 0; i < 25; i++) {
        char name[64];
        snprintf(name, sizeof name, "2020-01-01T00-00-%02d", i);
        tl_add_run(c.bundle, name, "logs/pvg-equal.ndjson");
    }
    char *notes = t_path_join(c.bundle, "logs/notes.txt");
    tk_write_text(notes, "my notes about these runs\n");
    struct proc_result r = run_fake("run", "--headless", c.bundle, NULL);
    cr_assert_eq(r.status, 0, "exit %d; stderr: %s", r.status, r.err);
    char **names;
    size_t n = tk_run_names(c.bundle, &names);
    cr_expect_eq(n, 20, "want 20 run folders, found %zu", n);
    if (n == 20) {
        tk_expect_str(names[0], "2020-01-01T00-00-06", "the 6 oldest should go, the newest old ones stay");
        tk_expect_str(names[18], "2020-01-01T00-00-24", "");
        cr_expect(strncmp(names[19], "2020", 4) != 0, "the new run should be kept: %s", names[19]);
    }
    char *newest = tk_newest_run(c.bundle);
    cr_expect(tk_file_exists(newest, "run.json") && tk_file_exists(newest, "vz.ndjson"), "the new run is complete");
    cr_expect_eq(access(notes, F_OK), 0, "a file in logs/ that is not a run folder was removed");
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
    free(newest);
    free(notes);
    proc_result_free(&r);
    tl_capture_end(&c);
}

/* kill -9 of macvm during a run: the log tool ends with it (the supervisor
 * sees its pipe close, and on Linux macvm's death is a signal too), instead
 * of running on forever with vz.ndjson open. */
Test(log_capture, kill_9_of_macvm_ends_the_capture, .init = t_tmp_init, .fini = t_tmp_fini, .timeout = 60)
{
    struct tl_capture c;
    tl_capture_begin(&c);
    setenv("MACVM_FAKE_RUN_SECONDS", "30", 1);
    const char *bin = getenv("MACVM_FAKE_BIN") ? getenv("MACVM_FAKE_BIN") : "build/macvm-fake";
    const char *argv[] = {bin, "run", "--headless", c.bundle, NULL};
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
    pid_t macvm;
    cr_assert_eq(posix_spawn(&macvm, bin, &fa, NULL, (char *const *)argv, environ), 0);
    posix_spawn_file_actions_destroy(&fa);
    struct timespec tick = {0, 2 * 1000 * 1000};
    pid_t tool = -1;
    for (int i = 0; i < 5000 && (tool = tk_stand_in_pid(c.tool)) <= 0; i++)
        nanosleep(&tick, NULL);
    cr_assert(tool > 0, "the log tool never started");
    cr_assert_eq(kill(macvm, SIGKILL), 0);
    cr_assert_eq(waitpid(macvm, NULL, 0), macvm);
    for (int i = 0; i < 1000 && tk_alive(tool); i++)
        nanosleep(&tick, NULL);
    cr_expect(!tk_alive(tool), "the log tool (pid %d) outlived macvm's kill -9", (int)tool);
    if (tk_alive(tool))
        kill(tool, SIGKILL);
    unsetenv("MACVM_FAKE_RUN_SECONDS");
    tl_capture_end(&c);
}
