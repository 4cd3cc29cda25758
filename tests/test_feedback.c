/* test_feedback.c -- `macvm feedback`: the Feedback Assistant report of a
 * bundle's run, in Markdown and JSON, and its redaction (macvm.c section 9).
 *
 * Contract under test:
 *   - The Markdown has every section: suggested title, Host (model, chip,
 *     macOS version and build), Guest (version, build, hardware model),
 *     Configuration and start options, the exact command that reproduces the
 *     run (shell-quoted: pasting it into sh gives back the same argv), What
 *     happened (outcome, error, advice), Paravirtualized graphics
 *     (negotiation, verdict, lines), Virtualization errors and faults,
 *     Attachments (the log, run.json, the VM process's crash reports written
 *     during the run and no others), and the note that the bundle runs in
 *     Apple's sample project.
 *   - Redaction (the default): no ECID (hex with or without 0x, zero-padded
 *     or not, any case; decimal; next to '_' or letters), no MAC address (any
 *     notation, or the EUI-64 link-local address made from one), no home path
 *     (also URL-encoded), no user name (the full name before the login), no
 *     host name made from one, in Markdown and JSON; --no-redact keeps them.
 *     Only data is redacted, never the report's sentences; the title is cut
 *     after redacting; the report says what redaction cannot know; redacting
 *     twice changes nothing, and random secrets in random text never survive.
 *   - Control characters from files are escaped in the Markdown.
 *   - --json: one valid JSON document with the same content.
 *   - -o FILE writes atomically; an existing FILE is refused (73, untouched)
 *     unless --force, which replaces it.
 *   - A bundle without a run still gets a report that says so; made off the
 *     Mac (./macvm on Linux) the Host section shows what run.json recorded and
 *     says the report was made elsewhere, or "not collected on the host"
 *     without a run.
 * Runs are made with build/macvm-fake and a stand-in log tool (or written by
 * hand); HOME is a temp dir shaped like /…/home/alice, USER=alice.
 */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>

#define TF_EX_NOINPUT 66
#define TF_EX_CANTCREAT 73
#define TF_ECID_BIG 0xa1b2c3d4e5f60718ull     /* tests/fixtures/plist/MachineIdentifier */
#define TF_ECID_SMALL 0x0011223344556677ull   /* tests/fixtures/plist/MachineIdentifier-small */
#define TF_MAX_ERROR "The maximum supported number of active virtual machines has been reached."

/* ---- A kit shared by test_logs.c, test_feedback.c and test_doctor.c.  Each
 * file carries an identical copy behind this guard, so each compiles alone
 * and in any include order; keep the copies identical. ---- */

/* ---- helpers of this file ---- */

/* A prepared user, bundle and (optionally) run. */
struct tf_env {
    char *home, *bundle, *run;
    long long started, stopped;
    int run_status;
};

static void tf_env_free(struct tf_env *e)
{
    free(e->home);
    free(e->bundle);
    free(e->run);
}

/* One ndjson log line (message: no quotes or backslashes; '/' is written as
 * `log` writes it, \/).  Free it. */
static char *tf_event(const char *type, const char *subsystem, const char *message)
{
    char esc[2048];
    size_t k = 0;
    for (const char *p = message; *p && k + 3 < sizeof esc; p++) {
        if (*p == '/')
            esc[k++] = '\\';
        esc[k++] = *p;
    }
    esc[k] = 0;
    char *s;
    cr_assert(asprintf(&s, "{\"timestamp\":\"2025-07-27 15:47:20.000000-0400\",\"messageType\":\"%s\",\"subsystem\":\"%s\","
                           "\"category\":\"test\",\"processImagePath\":\"\\/usr\\/libexec\\/x\",\"eventMessage\":\"%s\"}\n",
                       type, subsystem, esc) > 0);
    return s;
}

/* Appends to *text a log line that carries message (an error of the VM process). */
static void tf_add_line(char **text, const char *message)
{
    char *line = tf_event("Error", "com.apple.Virtualization.VirtualMachine", message), *t;
    cr_assert(asprintf(&t, "%s%s", *text, line) > 0);
    free(*text);
    free(line);
    *text = t;
}

/* HOME = t_tmp/home/USER, USER = user; a bundle `name` in it (machine_identifier:
 * a fixture under plist/, or NULL); with extra_log != NULL a run by the fake
 * bridge whose log is vz-stream.ndjson + extra_log, ending as outcome says
 * (NULL: the guest stopped), then crash reports: one of the VM process during
 * the run, one before it, one after it, one of another process. */
static void tf_setup(struct tf_env *e, const char *user, const char *name, const char *machine_identifier,
                     const char *extra_log, const char *outcome)
{
    *e = (struct tf_env){0};
    char rel[256];
    snprintf(rel, sizeof rel, "home/%s", user);
    e->home = tk_mkdirs(t_tmp, rel);
    setenv("HOME", e->home, 1);
    setenv("USER", user, 1);
    setenv("LOGNAME", user, 1);
    e->bundle = tk_make_bundle(e->home, name, machine_identifier);
    if (!extra_log)
        return;
    char *src = fixture("logs/vz-stream.ndjson");
    size_t n;
    char *base = (char *)t_read_file(src, &n);
    char *feed_text, *feed = t_path_join(t_tmp, "feed.ndjson");
    cr_assert(asprintf(&feed_text, "%s%s", base, extra_log) > 0);
    tk_write_text(feed, feed_text);
    char *tool = tk_stand_in(t_tmp, "log", feed, "exec sleep 30");
    setenv("MACVM_LOG_TOOL", tool, 1);
    if (outcome)
        setenv("MACVM_FAKE_OUTCOME", outcome, 1);
    struct proc_result r = run_fake("run", "--headless", e->bundle, NULL);
    unsetenv("MACVM_FAKE_OUTCOME");
    e->run_status = r.status;
    cr_assert(r.status == 0 || (outcome && r.status == 70), "the fake run: exit %d; stderr: %s", r.status, r.err);
    proc_result_free(&r);
    e->run = tk_newest_run(e->bundle);
    char *json = t_path_join(e->run, "run.json");
    char *times = tk_py(json, false, "'%d %d' % (d['started_unix'], d['stopped_unix'])");
    cr_assert_eq(sscanf(times, "%lld %lld", &e->started, &e->stopped), 2, "run.json times: %s", times);

    char *crash = tk_mkdirs(e->home, "Library/Logs/DiagnosticReports");
    struct {
        const char *name;
        long long mtime;
    } reports[] = {
        {"com.apple.Virtualization.VirtualMachine-2026-01-02-030405.ips", e->started},
        {"com.apple.Virtualization.VirtualMachine-2020-01-01-000000.ips", e->started - 3600},
        {"com.apple.Virtualization.VirtualMachine-2030-01-01-000000.ips", e->stopped + 3600},
        {"Safari-2026-01-02-030405.ips", e->started},
    };
    for (size_t i = 0; i < sizeof reports / sizeof *reports; i++) {
        char *p = t_path_join(crash, reports[i].name);
        tk_write_text(p, "{\"bug_type\":\"309\"}\n{}\n");
        struct timeval tv[2] = {{(time_t)reports[i].mtime, 0}, {(time_t)reports[i].mtime, 0}};
        cr_assert_eq(utimes(p, tv), 0, "utimes %s: %s", p, strerror(errno));
        free(p);
    }
    free(crash);
    free(times);
    free(json);
    free(tool);
    free(feed);
    free(feed_text);
    free(base);
    free(src);
}

/* The lines with personal data of the ECID ecid, spelled with 0x and in decimal. */
static char *tf_personal_lines(uint64_t ecid)
{
    char *text = t_strdup(""), msg[512];
    snprintf(msg, sizeof msg, "DFU device with ECID 0x%016" PRIx64 " attached", ecid);
    tf_add_line(&text, msg);
    snprintf(msg, sizeof msg, "ECID:0x%" PRIx64 ", unpadded", ecid);
    tf_add_line(&text, msg);
    snprintf(msg, sizeof msg, "ECID 0X%016" PRIX64 " in capitals", ecid);
    tf_add_line(&text, msg);
    snprintf(msg, sizeof msg, "ECID (%" PRIu64 ") in decimal", ecid);
    tf_add_line(&text, msg);
    tf_add_line(&text, "Network device 8A:2C:11:DE:AD:01 attached to NAT");
    tf_add_line(&text, "Session of user alice: alice's VM, owned by alice");
    snprintf(msg, sizeof msg, "Opened %s/Documents/notes.txt and %s", getenv("HOME"), getenv("HOME"));
    tf_add_line(&text, msg);
    tf_add_line(&text, "Opened /Users/alice/VM.bundle/Disk.img");
    return text;
}

/* Expects none of the personal data of the setup in out. */
static void tf_expect_redacted(const char *out, const char *home, uint64_t ecid, const char *what)
{
    char hex[3][32], dec[32];
    snprintf(hex[0], sizeof hex[0], "0x%016" PRIx64, ecid);
    snprintf(hex[1], sizeof hex[1], "0x%" PRIx64, ecid);
    snprintf(hex[2], sizeof hex[2], "%016" PRIx64, ecid);
    snprintf(dec, sizeof dec, "%" PRIu64, ecid);
    for (int i = 0; i < 3; i++)
        cr_expect(strcasestr(out, hex[i]) == NULL, "%s: the ECID (%s) is in the report:\n%s", what, hex[i], out);
    cr_expect(strstr(out, dec) == NULL, "%s: the ECID in decimal (%s) is in the report:\n%s", what, dec, out);
    cr_expect(strcasestr(out, "8a:2c:11:de:ad:01") == NULL, "%s: the MAC address is in the report:\n%s", what, out);
    cr_expect(strstr(out, home) == NULL, "%s: the home path %s is in the report:\n%s", what, home, out);
    cr_expect(strstr(out, t_tmp) == NULL, "%s: the temp path %s is in the report:\n%s", what, t_tmp, out);
    cr_expect(strstr(out, "alice") == NULL, "%s: the user name is in the report:\n%s", what, out);
    cr_expect(strstr(out, "<ECID>") != NULL, "%s: the ECID should be replaced by <ECID>", what);
    cr_expect(strstr(out, "<MAC>") != NULL, "%s: the MAC address should be replaced by <MAC>", what);
    cr_expect(strstr(out, "~/VM.bundle") != NULL, "%s: the home directory should read ~", what);
}

/* `feedback` with up to 4 arguments (NULL-terminated early), which must succeed. */
static struct proc_result tf_feedback_ok(bool fake, const char *a, const char *b, const char *c, const char *d)
{
    struct proc_result r = fake ? run_fake("feedback", a, b, c, d, NULL) : run_macvm("feedback", a, b, c, d, NULL);
    cr_assert(r.status >= 0 && r.status < 128, "feedback crashed (status %d); stderr: %s", r.status, r.err);
    cr_assert_eq(r.status, 0, "feedback: exit %d; stderr: %s", r.status, r.err);
    return r;
}

static void tf_expect_has(const char *out, const char *needle, const char *what)
{
    cr_expect(strstr(out, needle) != NULL, "%s: the report lacks \"%s\":\n%s", what, needle, out);
}

/* The text of the Markdown section that starts with heading ("## Host"), up to the next "## ". Free it. */
static char *tf_section(const char *md, const char *heading)
{
    const char *p = strstr(md, heading);
    cr_assert_not_null(p, "no section \"%s\" in:\n%s", heading, md);
    const char *end = strstr(p + strlen(heading), "\n## ");
    size_t n = end ? (size_t)(end - p) : strlen(p);
    char *s = malloc(n + 1);
    cr_assert_not_null(s);
    memcpy(s, p, n);
    s[n] = 0;
    return s;
}

/* ============================== Markdown ============================== */

Test(feedback, markdown_has_every_section, .init = t_tmp_init, .fini = t_tmp_fini, .timeout = 60)
{
    struct tf_env e;
    tf_setup(&e, "alice", "VM.bundle", NULL, "", "error:VZErrorDomain:6:" TF_MAX_ERROR);
    struct proc_result r = tf_feedback_ok(true, e.bundle, NULL, NULL, NULL);
    const char *md = r.out;
    const char *headings[] = {"**Suggested title:** Virtualization: ", "## Host", "## Guest",
                              "## Configuration and start options", "To reproduce:", "## What happened",
                              "## Paravirtualized graphics", "## Virtualization errors and faults", "## Attachments"};
    const char *last = md;
    for (size_t i = 0; i < sizeof headings / sizeof *headings; i++) {
        const char *p = strstr(md, headings[i]);
        cr_expect(p != NULL, "no \"%s\" in the report:\n%s", headings[i], md);
        cr_expect(!p || p > last, "\"%s\" is out of order", headings[i]);
        if (p)
            last = p;
    }
    char *host = tf_section(md, "## Host");
    tf_expect_has(host, "Mac14,2", "Host: model");
    tf_expect_has(host, "Apple M2", "Host: chip");
    tf_expect_has(host, "14.5 (23F79)", "Host: macOS version (build)");
    cr_expect(strstr(host, "another machine") == NULL, "made on the host, the report says otherwise:\n%s", host);
    char *guest = tf_section(md, "## Guest");
    tf_expect_has(guest, "14.5 (23F79)", "Guest: version (build)");
    tf_expect_has(guest, "UniversalMac_14.5_23F79_Restore.ipsw", "Guest: installed from");
    tf_expect_has(guest, "DataRepresentationVersion 1, PlatformVersion 2, MinimumSupportedOS 13.0.0", "Guest: hardware model");
    char *conf = tf_section(md, "## Configuration");
    tf_expect_has(conf, "CPUs: 4", "Configuration");
    tf_expect_has(conf, "memory: 8 GiB", "Configuration");
    tf_expect_has(conf, "2560x1600 at 144 ppi", "Configuration");
    tf_expect_has(conf, "start mode: normal", "Configuration");
    tf_expect_has(conf, "headless", "Configuration");
    tf_expect_has(conf, "```\nmacvm run --headless ~/VM.bundle\n```", "the command that reproduces the run");
    char *what = tf_section(md, "## What happened");
    tf_expect_has(what, "outcome: error", "What happened");
    tf_expect_has(what, "VZErrorDomain code 6: " TF_MAX_ERROR, "What happened: the error");
    tf_expect_has(what, "advice: the macOS licence allows two macOS VMs", "What happened: the advice");
    char *pvg = tf_section(md, "## Paravirtualized graphics");
    tf_expect_has(pvg, "guest requested 43, host set 31", "PVG: negotiation");
    tf_expect_has(pvg, "2025-07-27 15:47:10.504275-0400", "PVG: when");
    tf_expect_has(pvg, "older than the guest expects", "PVG: verdict");
    tf_expect_has(pvg, "Metal device: Apple M2 Pro", "PVG: the lines");
    char *errs = tf_section(md, "## Virtualization errors and faults");
    tf_expect_has(errs, "Balloon device: guest did not respond", "errors: an Error event");
    tf_expect_has(errs, "Unexpected state transition: stopping -> stopping", "errors: a Fault event");
    cr_expect(strstr(errs, "Starting boot loader") == NULL, "errors: a Default event is listed:\n%s", errs);
    char *att = tf_section(md, "## Attachments");
    tf_expect_has(att, "vz.ndjson", "Attachments: the log");
    tf_expect_has(att, "run.json", "Attachments: the run record");
    tf_expect_has(att, "com.apple.Virtualization.VirtualMachine-2026-01-02-030405.ips", "Attachments: the crash report of the run");
    cr_expect(strstr(md, "VirtualMachine-2020-01-01-000000.ips") == NULL, "a crash report from before the run is listed");
    cr_expect(strstr(md, "VirtualMachine-2030-01-01-000000.ips") == NULL, "a crash report from after the run is listed");
    cr_expect(strstr(md, "Safari-") == NULL, "another process's crash report is listed");
    tf_expect_has(md, "Apple's sample project", "the note on Apple's sample");
    tf_expect_has(md, "Running macOS in a Virtual Machine on Apple Silicon", "the note names the sample");
    tf_expect_has(md, "**Suggested title:** Virtualization: \"" TF_MAX_ERROR "\"", "the title names the error");
    free(att);
    free(errs);
    free(pvg);
    free(what);
    free(conf);
    free(guest);
    free(host);
    proc_result_free(&r);
    tf_env_free(&e);
}

Test(feedback, reproduce_command_pastes_back_exactly, .init = t_tmp_init, .fini = t_tmp_fini, .timeout = 60)
{
    struct tf_env e;
    tf_setup(&e, "alice", "VM bundle; it's $HOME & `x`", NULL, "", NULL);
    struct proc_result r = tf_feedback_ok(true, e.bundle, "--no-redact", NULL, NULL);
    const char *p = strstr(r.out, "To reproduce:\n\n```\n");
    cr_assert_not_null(p, "no command:\n%s", r.out);
    p += strlen("To reproduce:\n\n```\n");
    const char *end = strstr(p, "\n```");
    cr_assert_not_null(end);
    char *cmd = strndup(p, (size_t)(end - p)), *script;
    cr_expect(strncmp(cmd, "macvm run --headless ", 21) == 0, "the command: %s", cmd);
    cr_assert(asprintf(&script, "macvm() { printf '<%%s>\\n' \"$@\"; }\n%s\n", cmd) > 0);
    const char *argv[] = {"sh", "-c", script, NULL};
    struct proc_result sh = run_argv(argv);
    char *want;
    cr_assert(asprintf(&want, "<run>\n<--headless>\n<%s>\n", e.bundle) > 0);
    tk_expect_str(sh.out, want, "pasted into sh, the command should give back the run's argv");
    free(want);
    proc_result_free(&sh);
    free(script);
    free(cmd);
    proc_result_free(&r);
    tf_env_free(&e);
}

Test(feedback, bundle_without_run, .init = t_tmp_init, .fini = t_tmp_fini)
{
    struct tf_env e;
    tf_setup(&e, "alice", "VM.bundle", NULL, NULL, NULL);
    struct proc_result r = tf_feedback_ok(true, e.bundle, NULL, NULL, NULL);
    tf_expect_has(r.out, "## Host", "no run");
    tf_expect_has(r.out, "## What happened", "no run");
    tf_expect_has(r.out, "no run recorded", "no run: What happened");
    tf_expect_has(r.out, "Apple's sample project", "no run: the note");
    tf_expect_has(r.out, "14.5 (23F79)", "no run: the guest from Config.plist");
    char *host = tf_section(r.out, "## Host");
    tf_expect_has(host, "not recorded", "no run, on the host: Host");
    free(host);
    proc_result_free(&r);

    /* Off the Mac. */
    r = tf_feedback_ok(false, e.bundle, NULL, NULL, NULL);
    host = tf_section(r.out, "## Host");
    tf_expect_has(host, "not collected on the host", "no run, off the Mac: Host");
    tf_expect_has(r.out, "no run recorded", "no run, off the Mac: What happened");
    free(host);
    proc_result_free(&r);
    tf_env_free(&e);
}

/* A bundle copied without HardwareModel, or with a damaged MachineIdentifier:
 * the Guest section says which file could not be read and why, instead of
 * leaving the line out. */
Test(feedback, a_guest_file_that_cannot_be_read_is_said_so, .init = t_tmp_init, .fini = t_tmp_fini)
{
    struct tf_env e;
    tf_setup(&e, "alice", "VM.bundle", NULL, NULL, NULL);
    char *hw = t_path_join(e.bundle, "HardwareModel"), *id = t_path_join(e.bundle, "MachineIdentifier");
    cr_assert_eq(unlink(hw), 0);
    tk_write_text(id, "not a plist");
    struct proc_result r = tf_feedback_ok(true, e.bundle, NULL, NULL, NULL);
    char *guest = tf_section(r.out, "## Guest");
    tf_expect_has(guest, "- hardware model: unknown (HardwareModel: cannot open: No such file or directory)",
                  "a bundle copied without HardwareModel");
    tf_expect_has(guest, "- ECID: unknown (MachineIdentifier: ", "a damaged MachineIdentifier");
    free(guest);
    proc_result_free(&r);
    free(id);
    free(hw);
    tf_env_free(&e);
}

Test(feedback, made_off_the_mac_keeps_the_recorded_host, .init = t_tmp_init, .fini = t_tmp_fini, .timeout = 60)
{
    struct tf_env e;
    tf_setup(&e, "alice", "VM.bundle", NULL, "", NULL);
    struct proc_result r = tf_feedback_ok(false, e.bundle, NULL, NULL, NULL);   /* ./macvm: Linux, no Virtualization */
    char *host = tf_section(r.out, "## Host");
    tf_expect_has(host, "Mac14,2 (Apple M2)", "off the Mac: the recorded Mac");
    tf_expect_has(host, "14.5 (23F79)", "off the Mac: the recorded macOS");
    tf_expect_has(host, "another machine", "off the Mac: the report should say where it was made");
    free(host);
    proc_result_free(&r);
    tf_env_free(&e);
}

/* ============================== redaction ============================== */

static void tf_redaction(uint64_t ecid, const char *machine_identifier)
{
    struct tf_env e;
    char *lines = tf_personal_lines(ecid);
    tf_setup(&e, "alice", "VM.bundle", machine_identifier, lines, NULL);
    struct proc_result r = tf_feedback_ok(true, e.bundle, NULL, NULL, NULL);
    tf_expect_redacted(r.out, e.home, ecid, "Markdown");
    tf_expect_has(r.out, "DFU device with ECID <ECID> attached", "Markdown: the log line, redacted");
    proc_result_free(&r);
    /* Off the Mac, too. */
    r = tf_feedback_ok(false, e.bundle, NULL, NULL, NULL);
    tf_expect_redacted(r.out, e.home, ecid, "Markdown made off the Mac");
    proc_result_free(&r);
    free(lines);
    tf_env_free(&e);
}

Test(feedback, redacts_personal_data, .init = t_tmp_init, .fini = t_tmp_fini, .timeout = 60)
{
    tf_redaction(TF_ECID_BIG, NULL);
}

Test(feedback, redacts_a_zero_padded_ecid, .init = t_tmp_init, .fini = t_tmp_fini, .timeout = 60)
{
    tf_redaction(TF_ECID_SMALL, "MachineIdentifier-small");
}

/* A bundle whose MachineIdentifier is gone or damaged (a copy made without
 * it, the file the bug broke): the ECID the run recorded is still redacted. */
Test(feedback, redacts_the_run_s_ecid_without_a_machine_identifier, .init = t_tmp_init, .fini = t_tmp_fini,
     .timeout = 60)
{
    struct tf_env e;
    char *lines = tf_personal_lines(TF_ECID_BIG);
    tf_setup(&e, "alice", "VM.bundle", NULL, lines, NULL);
    char *mi = t_path_join(e.bundle, "MachineIdentifier");
    for (int damaged = 0; damaged < 2; damaged++) {
        if (damaged)
            tk_write_text(mi, "not a property list\n");
        else
            cr_assert_eq(unlink(mi), 0);
        struct proc_result r = tf_feedback_ok(true, e.bundle, NULL, NULL, NULL);
        tf_expect_redacted(r.out, e.home, TF_ECID_BIG, damaged ? "a damaged MachineIdentifier" : "no MachineIdentifier");
        proc_result_free(&r);
    }
    free(mi);
    free(lines);
    tf_env_free(&e);
}

/* A run killed with -9 writes no run.json; with MachineIdentifier gone too,
 * the ECID an earlier run of the bundle recorded is redacted from its log,
 * as the serial number an earlier install gave is. */
Test(feedback, redacts_an_earlier_run_s_ecid_from_a_killed_run, .init = t_tmp_init, .fini = t_tmp_fini,
     .timeout = 60)
{
    struct tf_env e;
    char *lines = tf_personal_lines(TF_ECID_BIG);
    tf_setup(&e, "alice", "VM.bundle", NULL, lines, NULL);
    char *log = t_path_join(e.run, "vz.ndjson"), *killed = tk_mkdirs(e.bundle, "logs/2099-01-01T10-00-00");
    char *killed_log = t_path_join(killed, "vz.ndjson"), *mi = t_path_join(e.bundle, "MachineIdentifier");
    size_t n;
    char *text = (char *)t_read_file(log, &n);
    tk_write_text(killed_log, text);
    cr_assert_eq(unlink(mi), 0);
    struct proc_result r = tf_feedback_ok(true, e.bundle, NULL, NULL, NULL);
    tf_expect_has(r.out, "2099-01-01T10-00-00", "the report on the killed run");
    tf_expect_redacted(r.out, e.home, TF_ECID_BIG, "a killed run without MachineIdentifier");
    proc_result_free(&r);
    free(text);
    free(mi);
    free(killed_log);
    free(killed);
    free(log);
    free(lines);
    tf_env_free(&e);
}

/* The ECID as Apple's tools often print it: hex digits without 0x
 * (e.g. idevicerestore, system_profiler "ECID: 001122..."). */
Test(feedback, redacts_the_ecid_in_hex_without_0x, .init = t_tmp_init, .fini = t_tmp_fini, .timeout = 60)
{
    static const struct {
        uint64_t ecid;
        const char *mi;
    } cases[] = {{TF_ECID_BIG, NULL}, {TF_ECID_SMALL, "MachineIdentifier-small"}};
    for (size_t i = 0; i < 2; i++) {
        char *lines = t_strdup(""), msg[256], hex[4][32];
        snprintf(hex[0], sizeof hex[0], "%016" PRIx64, cases[i].ecid);
        snprintf(hex[1], sizeof hex[1], "%016" PRIX64, cases[i].ecid);
        snprintf(hex[2], sizeof hex[2], "%" PRIx64, cases[i].ecid);
        snprintf(hex[3], sizeof hex[3], "%" PRIX64, cases[i].ecid);
        for (int k = 0; k < 4; k++) {
            snprintf(msg, sizeof msg, "restore device ECID: %s", hex[k]);
            tf_add_line(&lines, msg);
        }
        struct tf_env e;
        char name[32];
        snprintf(name, sizeof name, "VM%zu.bundle", i);
        if (i) {   /* a second bundle in a fresh home */
            t_remove_tree(t_tmp);
            mkdir(t_tmp, 0700);
        }
        tf_setup(&e, "alice", name, cases[i].mi, lines, NULL);
        struct proc_result r = tf_feedback_ok(true, e.bundle, NULL, NULL, NULL);
        char leaked[160] = "";
        for (int k = 0; k < 4; k++)
            if (strstr(r.out, hex[k]))
                snprintf(leaked + strlen(leaked), sizeof leaked - strlen(leaked), " %s", hex[k]);
        cr_expect(leaked[0] == 0, "the ECID 0x%016" PRIx64 " written without 0x is in the report:%s", cases[i].ecid,
                  leaked);
        proc_result_free(&r);
        tf_env_free(&e);
        free(lines);
    }
}

Test(feedback, no_redact_keeps_everything, .init = t_tmp_init, .fini = t_tmp_fini, .timeout = 60)
{
    struct tf_env e;
    char *lines = tf_personal_lines(TF_ECID_SMALL);
    tf_setup(&e, "alice", "VM.bundle", "MachineIdentifier-small", lines, NULL);
    struct proc_result r = tf_feedback_ok(true, e.bundle, "--no-redact", NULL, NULL);
    tf_expect_has(r.out, "0x0011223344556677", "--no-redact: the ECID");
    tf_expect_has(r.out, "4822678189205111", "--no-redact: the ECID in decimal");
    tf_expect_has(r.out, "8a:2c:11:de:ad:01", "--no-redact: the MAC address");
    tf_expect_has(r.out, e.bundle, "--no-redact: the bundle's path");
    tf_expect_has(r.out, "Session of user alice", "--no-redact: the user name");
    cr_expect(strstr(r.out, "<ECID>") == NULL && strstr(r.out, "<MAC>") == NULL && strstr(r.out, "<user>") == NULL,
              "--no-redact: placeholders in the report:\n%s", r.out);
    proc_result_free(&r);
    free(lines);
    tf_env_free(&e);
}

/* Alice Liddell's redaction, as redaction_for builds it on her Mac: login
 * alice, full name from the password database, home /Users/alice, Mac
 * Alices-MacBook-Pro, ECID TF_ECID_BIG. */
static struct redaction tf_alice(void)
{
    struct redaction r = {0};
    redaction_add_name(&r, "alice", 5);
    redaction_add_name(&r, "Alice Liddell", 13);
    redaction_add_host_prefix(&r, "Alice", 5);
    for (size_t i = 0; i < r.n_names; i++)
        redaction_add_host_prefix(&r, r.names[i], strlen(r.names[i]));
    snprintf(r.home, sizeof r.home, "/Users/alice");
    redaction_add_ecid(&r, TF_ECID_BIG);
    return r;
}

static char *tf_redacted(const char *text, const struct redaction *r)
{
    struct buf b = {0};
    redact(&b, text, r);
    return b.data ? b.data : xstrdup("");
}

/* Every common spelling of each secret, next to what it becomes. */
Test(feedback, redacts_every_common_spelling)
{
    struct redaction r = tf_alice();
    static const char *const cases[][2] = {
        {"by Alice Liddell (alice)", "by <user> (<user>)"},                    /* full name before login */
        {"ALICE LIDDELL signed in", "<user> signed in"},
        {"mac 8a:2c:11:de:ad:01.", "mac <MAC>."},
        {"mac 8A-2C-11-DE-AD-01,", "mac <MAC>,"},
        {"cisco 8a2c.11de.ad01 up", "cisco <MAC> up"},
        {"raw 8a2c11dead01 end", "raw <MAC> end"},
        {"arp 8a:2c:11:de:ad:1 (ether)", "arp <MAC> (ether)"},
        {"arp 8:0:27:a:b:c on en0", "arp <MAC> on en0"},
        {"MAC:8a:2c:11:de:ad:01", "MAC:<MAC>"},
        {"inet6 fe80::882c:11ff:fede:ad01%en0", "inet6 fe80::<MAC>%en0"},
        {"inet6 fe80::ff:fe00:1 zero first group", "inet6 fe80::<MAC> zero first group"},
        {"ECID_a1b2c3d4e5f60718_x", "ECID_<ECID>_x"},
        {"ecid0xA1B2C3D4E5F60718g", "ecid<ECID>g"},
        {"chip11651590505119483672.", "chip<ECID>."},
        {"on Alices-MacBook-Pro.local today", "on <host> today"},
        {"on Alice-Liddells-MacBook-Air, ssh", "on <host>, ssh"},
        {"file:///Users/alice/VM%20bundle", "file://~/VM%20bundle"},
        {"path=%2FUsers%2Falice%2FVM.bundle", "path=~%2FVM.bundle"},
        {"file:///Users/Bob%20Smith/x", "file://~/x"},
        {"{\"p\":\"\\/Users\\/alice\\/x\"}", "{\"p\":\"~\\/x\"}"},
        {"{\"p\":\"\\u002fUsers\\u002Falice\\u002fx\"}", "{\"p\":\"~\\u002fx\"}"},
        {"mail alice.liddell@example.com", "mail <user>@example.com"},
        {"by Alice_Liddell and alice-liddell", "by <user> and <user>"},
        {"ssh alices-mbp.local", "ssh <host>"},
        /* not secrets: a pointer, a UUID, an IPv6 address that holds no MAC, longer chains */
        {"at 0x600003a1c000", "at 0x600003a1c000"},
        {"id 6ba7b810-9dad-11d1-80b4-00c04fd430c8", "id 6ba7b810-9dad-11d1-80b4-00c04fd430c8"},
        {"fe80::1c2b:3a4d:5e6f:7a8b", "fe80::1c2b:3a4d:5e6f:7a8b"},
        {"fe80:0:0:0:1:2:3:4", "fe80:0:0:0:1:2:3:4"},
        {"8a:2c:11:de:ad:01:02", "8a:2c:11:de:ad:01:02"},
        {"com.alice.x and malice", "com.alice.x and malice"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char *got = tf_redacted(cases[i][0], &r);
        tk_expect_str(got, cases[i][1], cases[i][0]);
        free(got);
    }
}

/* The Mac's name is redacted without its domain; localhost names no Mac and stays. */
Test(feedback, redacts_the_host_name_but_never_localhost)
{
    static const char *const cases[][3] = {
        {"Alices-Mac.local", "ssh Alices-Mac.local and Alices-Mac", "ssh <host> and <host>"},
        {"localhost.localdomain", "bound to localhost:5900", "bound to localhost:5900"},
        {"LOCALHOST", "bound to localhost:5900", "bound to localhost:5900"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        struct redaction r = {0};
        redaction_set_host(&r, cases[i][0]);
        char *got = tf_redacted(cases[i][1], &r);
        tk_expect_str(got, cases[i][2], cases[i][0]);
        free(got);
    }
}

/* Inputs the fuzz target found where a second redaction changed the first's output. */
Test(feedback, redacting_twice_changes_nothing)
{
    struct redaction r = tf_alice();
    static const char *const texts[] = {
        "e:892c:11ff:fede:ac-2c-11-de-ad-0-01* 8a21",        /* a group before the MAC became <MAC> */
        "etha %2FUsers%2Fal-2c-11-9a:2c:11:de:ad:18:08: fe",  /* ... or the ~ of a home */
        "/Users/alice-8a2c11dead01",                          /* a UUID-like tail after a home */
        "mac <MAC> <ECID> <user> <host> ~",
    };
    for (size_t i = 0; i < sizeof texts / sizeof *texts; i++) {
        char *once = tf_redacted(texts[i], &r), *twice = tf_redacted(once, &r);
        tk_expect_str(twice, once, texts[i]);
        free(twice);
        free(once);
    }
    /* A name with a ~ in it would match what the first pass made of two homes. */
    redaction_add_name(&r, "u~/x ~%2Fy", 10);
    char *once = tf_redacted("u/Users/alice/x %2FUsers%2Falice%2Fy", &r), *twice = tf_redacted(once, &r);
    tk_expect_str(twice, once, "a name spelled u~/x ~%2Fy");
    free(twice);
    free(once);
}

/* A small deterministic generator, so a failure can be reproduced. */
static uint64_t tf_rand(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

/* One secret of Alice's in a random spelling; *core is the part that must not survive. */
static void tf_random_secret(uint64_t *s, char *out, size_t size, char *core, size_t core_size)
{
    static const char *const seps[] = {":", "-"};
    uint8_t m[6];
    for (int i = 0; i < 6; i++)
        m[i] = (uint8_t)tf_rand(s);
    switch (tf_rand(s) % 9) {
    case 0: snprintf(out, size, "%02x%s%02x%s%02x%s%02x%s%02x%s%02x", m[0], seps[m[0] & 1], m[1], seps[m[0] & 1],
                     m[2], seps[m[0] & 1], m[3], seps[m[0] & 1], m[4], seps[m[0] & 1], m[5]);
            break;
    case 1: snprintf(out, size, "%x:%x:%x:%x:%x:%x", m[0], m[1], m[2], m[3], m[4], m[5]); break;
    case 2: snprintf(out, size, "%02x%02x.%02x%02x.%02x%02x", m[0], m[1], m[2], m[3], m[4], m[5]); break;
    case 3: snprintf(out, size, "%02X%02X%02X%02X%02X%02X", m[0], m[1], m[2], m[3], m[4], m[5]); break;
    case 4: snprintf(out, size, "fe80::%x:%xff:fe%02x:%x", (m[0] ^ 2) << 8 | m[1], m[2], m[3], m[4] << 8 | m[5]);
            snprintf(core, core_size, "ff:fe%02x:%x", m[3], m[4] << 8 | m[5]);
            return;
    case 5: snprintf(out, size, "%s", (const char *[]){"0xa1b2c3d4e5f60718", "A1B2C3D4E5F60718", "11651590505119483672",
                                                       "ECID_a1b2c3d4e5f60718"}[tf_rand(s) % 4]);
            snprintf(core, core_size, "%s", strstr(out, "11651590505119483672") ? "11651590505119483672" : "a1b2c3d4e5f60718");
            return;
    case 6: snprintf(out, size, "%s", (const char *[]){"Alice Liddell", "alice", "ALICE", "Alice-Liddells-MacBook-Pro.local",
                                                       "Alices-iMac", "/Users/alice/x", "%2FUsers%2Falice"}[tf_rand(s) % 7]);
            snprintf(core, core_size, "%s", strstr(out, "Liddell") ? "Liddell" : "alice");
            return;
    case 7: snprintf(out, size, "/Users/alice%s", tf_rand(s) % 2 ? "/Library" : "");
            snprintf(core, core_size, "alice");
            return;
    default: snprintf(out, size, "file:///Users/alice/VM%%20bundle"); snprintf(core, core_size, "alice"); return;
    }
    snprintf(core, core_size, "%s", out);
}

/* Random secrets in random text, between the characters that end words: none survives. */
Test(feedback, no_random_secret_survives_in_random_text)
{
    static const char word_chars[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-:/";
    static const char ends[] = " \t\n,;()[]\"'=";
    struct redaction r = tf_alice();
    uint64_t seed = 0x9e3779b97f4a7c15ull;
    for (int round = 0; round < 3000; round++) {
        struct buf text = {0};
        char secret[128], core[128];
        tf_random_secret(&seed, secret, sizeof secret, core, sizeof core);
        int words = (int)(tf_rand(&seed) % 6), at = (int)(tf_rand(&seed) % (uint64_t)(words + 1));
        for (int w = 0; w <= words; w++) {
            if (w == at) {
                buf_puts(&text, secret);
                buf_add(&text, &ends[tf_rand(&seed) % (sizeof ends - 1)], 1);
            }
            for (int k = (int)(tf_rand(&seed) % 12); k > 0; k--)
                buf_add(&text, &word_chars[tf_rand(&seed) % (sizeof word_chars - 1)], 1);
            buf_add(&text, &ends[tf_rand(&seed) % (sizeof ends - 1)], 1);
        }
        char *got = tf_redacted(text.data, &r);
        cr_expect(strcasestr(got, core) == NULL, "round %d: \"%s\" survived:\n  text: %s\n  got:  %s", round, core,
                  text.data, got);
        char *again = tf_redacted(got, &r);
        tk_expect_str(again, got, "redacting twice changes nothing");
        free(again);
        free(got);
        buf_free(&text);
    }
}

/* A run of bundle written by hand (fast: no fake run, no log capture): a
 * run.json whose outcome is the JSON object outcome, and log_text as its
 * vz.ndjson unless NULL. */
static void tf_run_by_hand(const char *bundle, const char *outcome, const char *log_text)
{
    char *run = tk_mkdirs(bundle, "logs/2026-01-01T10-00-00"), *json = t_path_join(run, "run.json"), *text;
    cr_assert(asprintf(&text, "{\"command\":[\"run\",\"VM.bundle\"],\"spec\":{\"cpu_count\":2,"
                              "\"mac_address\":\"8a:2c:11:de:ad:01\"},\"host\":{\"os_version\":\"15.1\","
                              "\"os_build\":\"24B83\"},\"outcome\":%s,\"log\":\"vz.ndjson\"}\n", outcome) > 0);
    tk_write_text(json, text);
    if (log_text) {
        char *log = t_path_join(run, "vz.ndjson");
        tk_write_text(log, log_text);
        free(log);
    }
    free(text);
    free(json);
    free(run);
}

/* The VM's serial number (install --serial-number: often the user's own
 * Mac's) is redacted, from MachineIdentifier or, when that cannot say, from
 * the install's record (in a report on a later run too); a longer word
 * holding it stays. */
Test(feedback, redacts_the_vm_s_serial_number, .init = t_tmp_init, .fini = t_tmp_fini, .timeout = 60)
{
    static const char log[] = "{\"eventMessage\":\"serial C02XL0ABHT, c02xl0abht; XC02XL0ABHT\","
                              "\"messageType\":\"Error\",\"subsystem\":\"com.apple.Virtualization\"}\n";
    static const char install[] = "{\"kind\":\"install\",\"command\":[\"macvm\",\"install\",\"--serial\","
                                  "\"C02XL0ABHT\",\"VM.bundle\"],\"outcome\":{\"result\":\"error\"},"
                                  "\"log\":\"vz.ndjson\"}\n";
    static const char later_run[] = "{\"kind\":\"run\",\"command\":[\"macvm\",\"run\",\"VM.bundle\"],"
                                    "\"outcome\":{\"result\":\"guest-stopped\"},\"log\":\"vz.ndjson\"}\n";
    static const char *const names[] = {"VM.bundle", "Installed.bundle", "Run.bundle"};
    static const char *const what[] = {"from MachineIdentifier", "from the install's command",
                                       "from the install's command, in a report on a later run"};
    for (int i = 0; i < 3; i++) {
        struct tf_env e;
        tf_setup(&e, "alice", names[i], i == 0 ? "MachineIdentifier-serial" : NULL, NULL, NULL);
        const char *records[][2] = {{"logs/2026-01-01T10-00-00-install", install},
                                    {"logs/2026-01-02T10-00-00", later_run}};
        for (int k = 0; k < (i == 1 ? 1 : 2); k++) {
            char *run = tk_mkdirs(e.bundle, records[k][0]), *json = t_path_join(run, "run.json");
            char *vz = t_path_join(run, "vz.ndjson");
            tk_write_text(json, i == 0 ? later_run : records[k][1]);
            tk_write_text(vz, log);
            free(vz);
            free(json);
            free(run);
        }
        struct proc_result r = tf_feedback_ok(true, e.bundle, NULL, NULL, NULL);
        cr_expect(strcasestr(r.out, "C02XL0ABHT ") == NULL && strcasestr(r.out, "C02XL0ABHT,") == NULL,
                  "%s: the serial number survived:\n%s", what[i], r.out);
        tf_expect_has(r.out, "serial <serial>, <serial>; XC02XL0ABHT", what[i]);
        proc_result_free(&r);
        tf_env_free(&e);
    }
}

/* The title cuts a long error message at 120 characters: after redacting
 * it, so no half of an ECID that straddled the cut survives. */
Test(feedback, title_is_redacted_before_it_is_cut, .init = t_tmp_init, .fini = t_tmp_fini, .timeout = 60)
{
    char outcome[512];
    snprintf(outcome, sizeof outcome, "{\"result\":\"error\",\"error\":{\"domain\":\"VZErrorDomain\",\"code\":1,"
             "\"message\":\"%0110d board 0x%016" PRIx64 " failed\"}}", 7, (uint64_t)TF_ECID_BIG);
    struct tf_env e;
    tf_setup(&e, "alice", "VM.bundle", NULL, NULL, NULL);
    tf_run_by_hand(e.bundle, outcome, NULL);
    struct proc_result r = tf_feedback_ok(true, e.bundle, NULL, NULL, NULL);
    char *title = tf_section(r.out, "**Suggested title:**");
    cr_expect(strstr(title, "a1b2c3d4") == NULL, "a part of the ECID survived in the title:\n%s", title);
    tf_expect_has(title, "board <EC\" running", "the title, redacted then cut");
    free(title);
    proc_result_free(&r);
    tf_env_free(&e);
}

/* Users named like words of the report: the report's own sentences stay whole. */
Test(feedback, only_data_is_redacted_never_the_report_s_sentences, .init = t_tmp_init, .fini = t_tmp_fini,
     .timeout = 60)
{
    char *line = tf_event("Default", "com.apple.Virtualization.VirtualMachine",
                          "Guest requested binary version: 9, setting binary version to: 7, guest session");
    struct tf_env e;
    tf_setup(&e, "guest", "VM.bundle", NULL, NULL, NULL);
    tf_run_by_hand(e.bundle, "{\"result\":\"guest-stopped\"}", line);
    struct proc_result r = tf_feedback_ok(true, e.bundle, NULL, NULL, NULL);
    tf_expect_has(r.out, "## Guest", "USER=guest: the heading");
    tf_expect_has(r.out, "- verdict: the guest asked for renderer version 9", "USER=guest: the verdict");
    tf_expect_has(r.out, "older than the guest expects (9 > 7) with a macOS 14.5 guest on macOS 15.1",
                  "USER=guest: the title");
    tf_expect_has(r.out, "setting binary version to: 7, <user> session", "USER=guest: the log line is data");
    proc_result_free(&r);
    tf_env_free(&e);
    free(line);
}

Test(feedback, a_user_named_mac_keeps_the_word_mac, .init = t_tmp_init, .fini = t_tmp_fini, .timeout = 60)
{
    struct tf_env e;
    tf_setup(&e, "mac", "VM.bundle", NULL, NULL, NULL);
    tf_run_by_hand(e.bundle, "{\"result\":\"guest-stopped\"}", NULL);
    struct proc_result r = tf_feedback_ok(true, e.bundle, NULL, NULL, NULL);
    tf_expect_has(r.out, "- MAC address: <MAC>", "USER=mac: the label");
    tf_expect_has(r.out, "they hold the ECID and MAC address.", "USER=mac: the attachments' sentence");
    proc_result_free(&r);
    tf_env_free(&e);
}

/* A redacted report says what redaction cannot know; an unredacted one does not pretend to be redacted. */
Test(feedback, says_what_redaction_cannot_know, .init = t_tmp_init, .fini = t_tmp_fini, .timeout = 60)
{
    struct tf_env e;
    tf_setup(&e, "alice", "VM.bundle", NULL, NULL, NULL);
    struct proc_result r = tf_feedback_ok(false, e.bundle, NULL, NULL, NULL);
    tf_expect_has(r.out, "**Redaction:** ", "Markdown");
    tf_expect_has(r.out, "appear nowhere there", "Markdown: the limit");
    proc_result_free(&r);
    r = tf_feedback_ok(false, e.bundle, "--no-redact", NULL, NULL);
    cr_expect(strstr(r.out, "Redaction") == NULL, "--no-redact says nothing of redaction:\n%s", r.out);
    proc_result_free(&r);
    tf_env_free(&e);
}

/* Control characters of a log line are shown, never sent to the terminal. */
Test(feedback, control_characters_are_escaped, .init = t_tmp_init, .fini = t_tmp_fini, .timeout = 60)
{
    char *text = t_strdup("");
    tf_add_line(&text, "red \\u001b[31m alert\\r\\n## Forged heading");
    struct tf_env e;
    tf_setup(&e, "alice", "VM.bundle", NULL, NULL, NULL);
    tf_run_by_hand(e.bundle, "{\"result\":\"guest-stopped\"}", text);
    struct proc_result r = tf_feedback_ok(true, e.bundle, NULL, NULL, NULL);
    cr_expect(strchr(r.out, 0x1b) == NULL && strchr(r.out, '\r') == NULL, "a control character reached the output");
    tf_expect_has(r.out, "red \\x1b[31m alert\\r\\n## Forged heading", "the escaped line");
    cr_expect(strstr(r.out, "\n## Forged heading") == NULL, "a log line began a line of the report:\n%s", r.out);
    proc_result_free(&r);
    tf_env_free(&e);
    free(text);
}

/* The reset loop's timeline shows times and the last event from the log:
 * data, redacted and escaped like every other line of it. */
Test(feedback, the_pvg_timeline_is_redacted_and_escaped, .init = t_tmp_init, .fini = t_tmp_fini, .timeout = 60)
{
    char *text = t_strdup("");
    for (int i = 0; i < 3; i++) {
        char *t;
        cr_assert(asprintf(&t, "%s{\"timestamp\":\"\\u001b[2J 8a:2c:11:de:ad:0%d\",\"messageType\":\"Default\","
                               "\"subsystem\":\"com.apple.gpusw.ParavirtualizedGraphics\",\"category\":\"x\","
                               "\"processImagePath\":\"\\/usr\\/libexec\\/x\",\"eventMessage\":\"device reset by alice\"}\n",
                           text, i) > 0);
        free(text);
        text = t;
    }
    struct tf_env e;
    tf_setup(&e, "alice", "VM.bundle", NULL, NULL, NULL);
    tf_run_by_hand(e.bundle, "{\"result\":\"guest-stopped\"}", text);
    struct proc_result r = tf_feedback_ok(true, e.bundle, NULL, NULL, NULL);
    const char *timeline = strstr(r.out, "Timeline:");
    cr_assert(timeline, "no timeline:\n%s", r.out);
    cr_expect(strchr(r.out, 0x1b) == NULL, "a control character reached the output:\n%s", r.out);
    tf_expect_has(timeline, "\\x1b[2J <MAC>  device reset 1", "the first reset's time, escaped and redacted");
    tf_expect_has(timeline, "last event: device reset by <user>", "the last event, redacted");
    cr_expect(strstr(timeline, "8a:2c:11:de:ad:0") == NULL, "a MAC address in the timeline:\n%s", timeline);
    proc_result_free(&r);
    tf_env_free(&e);
    free(text);
}

/* ============================== -o FILE ============================== */

static int tf_tmp_leftovers(const char *dir)
{
    int n = 0;
    DIR *d = opendir(dir);
    for (struct dirent *de; d && (de = readdir(d));)
        if (strstr(de->d_name, ".tmp"))
            n++;
    if (d)
        closedir(d);
    return n;
}

/* -o - is standard output, as for most tools: no file named "-" is made. */
Test(feedback, o_dash_is_standard_output, .init = t_tmp_init, .fini = t_tmp_fini, .timeout = 60)
{
    struct tf_env e;
    tf_setup(&e, "alice", "VM.bundle", NULL, "", NULL);
    char fake[PATH_MAX];
    cr_assert(realpath(t_env_or("MACVM_FAKE_BIN", "build/macvm-fake"), fake), "realpath: %s", strerror(errno));
    cr_assert_eq(chdir(t_tmp), 0);   /* where a file named "-" would go */
    struct proc_result r = run_argv((const char *[]){fake, "feedback", "-o", "-", e.bundle, NULL});
    cr_expect_eq(r.status, 0, "exit %d; stderr: %s", r.status, r.err);
    tf_expect_has(r.out, "## Host", "-o -: the report on standard output");
    char *dash = t_path_join(t_tmp, "-");
    cr_expect(access(dash, F_OK) != 0, "-o - made a file named -");
    free(dash);
    proc_result_free(&r);
    tf_env_free(&e);
}

Test(feedback, output_file_is_atomic_and_never_clobbered, .init = t_tmp_init, .fini = t_tmp_fini, .timeout = 60)
{
    struct tf_env e;
    tf_setup(&e, "alice", "VM.bundle", NULL, "", NULL);
    char *dir = tk_mkdirs(t_tmp, "reports"), *file = t_path_join(dir, "report.md");
    struct proc_result shown = tf_feedback_ok(true, e.bundle, NULL, NULL, NULL);

    struct proc_result r = tf_feedback_ok(true, e.bundle, "-o", file, NULL);
    cr_expect_eq(r.out_len, 0, "-o: stdout should be empty: %s", r.out);
    size_t n;
    char *written = (char *)t_read_file(file, &n);
    tk_expect_str(written, shown.out, "-o FILE should hold the report");
    cr_expect_eq(tf_tmp_leftovers(dir), 0, "temporary files left next to the report");
    free(written);
    proc_result_free(&r);

    tk_write_text(file, "precious\n");
    r = run_fake("feedback", e.bundle, "-o", file, NULL);
    cr_expect_eq(r.status, TF_EX_CANTCREAT, "an existing file: exit %d, want 73; stderr: %s", r.status, r.err);
    cr_expect_eq(count_lines(r.err), 1, "stderr: %s", r.err);
    cr_expect(strstr(r.err, "--force") != NULL, "stderr should mention --force: %s", r.err);
    written = (char *)t_read_file(file, &n);
    tk_expect_str(written, "precious\n", "the existing file should be untouched");
    free(written);
    proc_result_free(&r);

    r = tf_feedback_ok(true, e.bundle, "-o", file, "--force");
    written = (char *)t_read_file(file, &n);
    tk_expect_str(written, shown.out, "--force should replace the file with the report");
    cr_expect_eq(tf_tmp_leftovers(dir), 0, "temporary files left next to the report");
    free(written);
    proc_result_free(&r);

    r = run_fake("feedback", e.bundle, "-o", "", NULL);
    cr_expect_eq(r.status, 64, "-o '': exit %d, want 64; stderr: %s", r.status, r.err);
    cr_expect(strstr(r.err, "-o needs a file name") != NULL, "stderr should say what -o lacks: %s", r.err);
    proc_result_free(&r);

    proc_result_free(&shown);
    free(file);
    free(dir);
    tf_env_free(&e);
}

/* ============================== other runs ============================== */

/* bundle/logs/NAME with a run.json written by hand and, when log != NULL, that fixture as vz.ndjson. */
static void tf_hand_run(const char *bundle, const char *name, const char *log)
{
    char rel[128];
    snprintf(rel, sizeof rel, "logs/%s", name);
    char *run = tk_mkdirs(bundle, rel), *json = t_path_join(run, "run.json");
    tk_write_text(json,
                  "{\"macvm_version\":\"0.1.0\",\"command\":[\"run\",\"--recovery\",\"VM.bundle\"],"
                  "\"spec\":{\"cpu_count\":2,\"memory_bytes\":4294967296,\"display\":{\"width\":1920,\"height\":1200,"
                  "\"pixels_per_inch\":80},\"start_mode\":\"recovery\",\"headless\":false},"
                  "\"host\":{\"os_version\":\"15.1\",\"os_build\":\"24B83\",\"model\":\"Mac15,3\",\"chip\":\"Apple M3\"},"
                  "\"started\":\"2026-01-01T10:00:00+0000\",\"stopped\":\"2026-01-01T10:05:00+0000\","
                  "\"started_unix\":1767261600,\"stopped_unix\":1767261900,"
                  "\"outcome\":{\"result\":\"guest-stopped\"},\"log\":\"vz.ndjson\"}\n");
    if (log) {
        char *src = fixture(log), *dst = t_path_join(run, "vz.ndjson");
        tk_copy(src, dst);
        free(src);
        free(dst);
    }
    free(json);
    free(run);
}

Test(feedback, hand_written_runs, .init = t_tmp_init, .fini = t_tmp_fini)
{
    struct tf_env e;
    tf_setup(&e, "alice", "VM.bundle", NULL, NULL, NULL);
    tf_hand_run(e.bundle, "2026-01-01T10-00-00", "logs/pvg-equal.ndjson");
    struct proc_result r = tf_feedback_ok(true, e.bundle, NULL, NULL, NULL);
    tf_expect_has(r.out, "Mac15,3 (Apple M3)", "the recorded host");
    tf_expect_has(r.out, "15.1 (24B83)", "the recorded host's macOS");
    tf_expect_has(r.out, "guest requested 31, host set 31", "equal negotiation");
    tf_expect_has(r.out, "fine", "equal negotiation verdict");
    tf_expect_has(r.out, "start mode: recovery", "the recorded start mode");
    tf_expect_has(r.out, "macvm run --recovery VM.bundle", "the recorded command");
    tf_expect_has(r.out, "outcome: guest-stopped", "the outcome");
    proc_result_free(&r);

    /* A newer run without a log: it is the one reported, and it says there is no log. */
    tf_hand_run(e.bundle, "2026-01-02T10-00-00", NULL);
    r = tf_feedback_ok(true, e.bundle, NULL, NULL, NULL);
    char *pvg = tf_section(r.out, "## Paravirtualized graphics");
    tf_expect_has(pvg, "no log recorded", "a run without vz.ndjson");
    free(pvg);
    proc_result_free(&r);

    /* --run NAME picks the older one; an unknown name is refused. */
    r = tf_feedback_ok(true, e.bundle, "--run", "2026-01-01T10-00-00", NULL);
    tf_expect_has(r.out, "guest requested 31, host set 31", "--run NAME");
    proc_result_free(&r);
    r = run_fake("feedback", e.bundle, "--run", "2019-01-01T00-00-00", NULL);
    cr_expect_eq(r.status, TF_EX_NOINPUT, "--run with an unknown run: exit %d; stderr: %s", r.status, r.err);
    cr_expect_eq(r.out_len, 0, "stdout: %s", r.out);
    proc_result_free(&r);
    tf_env_free(&e);
}

Test(feedback, missing_bundle_is_noinput, .init = t_tmp_init, .fini = t_tmp_fini)
{
    char *b = t_path_join(t_tmp, "none.bundle");
    struct proc_result r = run_fake("feedback", b, NULL);
    cr_expect_eq(r.status, TF_EX_NOINPUT, "exit %d; stderr: %s", r.status, r.err);
    cr_expect_eq(r.out_len, 0, "stdout: %s", r.out);
    cr_expect_eq(count_lines(r.err), 1, "stderr: %s", r.err);
    proc_result_free(&r);
    free(b);
}

/* The log tool could not start: run.json says "log": null.  The report must
 * not present the empty vz.ndjson left behind as the run's log, nor say the
 * log holds no errors. */
Test(feedback, run_whose_capture_failed_says_no_log, .init = t_tmp_init, .fini = t_tmp_fini, .timeout = 60)
{
    struct tf_env e;
    tf_setup(&e, "alice", "VM.bundle", NULL, NULL, NULL);
    char *tool = t_path_join(t_tmp, "no-such-log-tool");
    setenv("MACVM_LOG_TOOL", tool, 1);
    struct proc_result r = run_fake("run", "--headless", e.bundle, NULL);
    cr_assert_eq(r.status, 0, "run: exit %d; stderr: %s", r.status, r.err);
    proc_result_free(&r);
    char *run = tk_newest_run(e.bundle), *json = t_path_join(run, "run.json");
    char *logged = tk_py(json, false, "str(d['log'])");
    tk_expect_str(logged, "None", "run.json: no log");
    r = tf_feedback_ok(true, e.bundle, NULL, NULL, NULL);
    char *pvg = tf_section(r.out, "## Paravirtualized graphics"), *errs = tf_section(r.out, "## Virtualization errors");
    char *att = tf_section(r.out, "## Attachments");
    cr_expect(strstr(pvg, "no log recorded") != NULL, "the run has no log, the report should say so:\n%s", pvg);
    cr_expect(strstr(errs, "none in the run's log") == NULL, "the report claims the (missing) log has no errors:\n%s",
              errs);
    cr_expect(strstr(att, "vz.ndjson") == NULL, "the report attaches a log the run never recorded:\n%s", att);
    free(att);
    free(errs);
    free(pvg);
    proc_result_free(&r);
    free(logged);
    free(json);
    free(run);
    free(tool);
    tf_env_free(&e);
}

/* A vz.ndjson that is there but cannot be read (a FIFO, a folder) is neither
 * "no log recorded" nor a log with no errors: the report says it cannot be
 * read and why, and a warning names it; the report is still written. */
Test(feedback, a_log_that_cannot_be_read_is_said_so, .init = t_tmp_init, .fini = t_tmp_fini, .timeout = 60)
{
    struct tf_env e;
    tf_setup(&e, "alice", "VM.bundle", NULL, "", NULL);
    char *log = t_path_join(e.run, "vz.ndjson");
    for (int i = 0; i < 2; i++) {
        cr_assert_eq(unlink(log), 0);   /* the log, then the FIFO */
        cr_assert_eq(i ? mkdir(log, 0755) : mkfifo(log, 0644), 0);
        const char *kind = i ? "a folder" : "a FIFO";
        struct proc_result r = tf_feedback_ok(true, e.bundle, NULL, NULL, NULL);
        char *pvg = tf_section(r.out, "## Paravirtualized graphics"), *errs = tf_section(r.out, "## Virtualization errors");
        char said[128];
        snprintf(said, sizeof said, "the run's log cannot be read: is %s, not a regular file", kind);
        tf_expect_has(pvg, said, kind);
        tf_expect_has(errs, said, kind);
        cr_expect(!strstr(errs, "none in the run's log") && !strstr(r.out, "no log recorded"),
                  "%s: the report misstates the log:\n%s", kind, r.out);
        cr_expect(strstr(r.err, "vz.ndjson") && count_lines(r.err) == 1, "%s: one warning naming the log: %s", kind,
                  r.err);
        free(errs);
        free(pvg);
        proc_result_free(&r);
    }
    free(log);
    tf_env_free(&e);
}

/* A run whose macvm was killed has no run.json: the report says so (not "no
 * run yet") and still looks for the VM's crash reports around the run's
 * folder, since a crash is when a report needs them most. */
Test(feedback, a_killed_run_still_finds_its_crash_reports, .init = t_tmp_init, .fini = t_tmp_fini, .timeout = 60)
{
    struct tf_env e;
    tf_setup(&e, "alice", "VM.bundle", NULL, "", NULL);
    char *json = t_path_join(e.run, "run.json"), *log = t_path_join(e.run, "vz.ndjson");
    cr_assert_eq(unlink(json), 0);
    struct timeval start[2] = {{(time_t)e.started, 0}, {(time_t)e.started, 0}};
    struct timeval stop[2] = {{(time_t)e.stopped, 0}, {(time_t)e.stopped, 0}};
    cr_assert(utimes(log, stop) == 0 && utimes(e.run, start) == 0);
    struct proc_result r = tf_feedback_ok(true, e.bundle, NULL, NULL, NULL);
    char *host = tf_section(r.out, "## Host"), *att = tf_section(r.out, "## Attachments");
    tf_expect_has(host, "the run has no run.json", "Host: a killed run is no missing run");
    cr_expect(strstr(host, "no run yet") == NULL, "Host contradicts the run folder: %s", host);
    tf_expect_has(att, "com.apple.Virtualization.VirtualMachine-2026-01-02-030405.ips", "the crash report of the run");
    cr_expect(strstr(att, "VirtualMachine-2020-01-01-000000.ips") == NULL, "a crash report from before the run: %s", att);
    free(att);
    free(host);
    proc_result_free(&r);
    free(log);
    free(json);
    tf_env_free(&e);
}
