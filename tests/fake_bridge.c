/* fake_bridge.c -- a bridge with no Virtualization behind it, for the tests.
 *
 * Linked into build/macvm-fake instead of bridge.m.  It records exactly what
 * macvm.c handed it, as "key=value" lines in the file $MACVM_FAKE_SPEC, and
 * plays the part of the host and of Virtualization as the environment says:
 *
 *   MACVM_FAKE_HOST=none          no Virtualization here (like Linux)
 *   MACVM_FAKE_OS=13.6            the host's macOS (default 14.5; below 14: no saved state)
 *   MACVM_FAKE_PRIVATE=1          macvm carries com.apple.private.virtualization
 *   MACVM_FAKE_OUTCOME=...        how a run ends: guest-stopped (default), stopped, saved,
 *                                 interrupted, unavailable, or error:DOMAIN:CODE:MESSAGE
 *   MACVM_FAKE_WRITE_DISK=1       the "guest" writes to Disk.img during the run
 *   MACVM_FAKE_RUN_SECONDS=N      the run lasts N seconds; Ctrl-C (SIGINT) ends it as
 *                                 "interrupted", as the real bridge's stop request would
 *   MACVM_FAKE_INSTALL=...        ok (default), fail, interrupt
 *   MACVM_FAKE_INSTALL_SECONDS=N  the install lasts N seconds (half way); Ctrl-C ends it as interrupted
 *   MACVM_FAKE_UNSUPPORTED=1      no hardware model of the image runs on this host
 *   MACVM_FAKE_MIN_CPUS=N         the CPUs and memory (bytes) Virtualization says the loaded
 *   MACVM_FAKE_MIN_MEMORY=BYTES   image needs (bridge_load_restore_image); by default 0, as
 *                                 if it said nothing, so the image's manifest answers
 *   MACVM_FAKE_FIXTURES=DIR       where HardwareModel and MachineIdentifier come from
 *                                 (default tests/fixtures/plist)
 *   MACVM_FAKE_IPSW=FILE          what bridge_download "downloads"
 *   MACVM_FAKE_EVENTS=quit,ctrl-c what the user does while the VM runs (quit, ctrl-c, stop,
 *                                 force), each answered as macvm_stop_action says; then
 *                                 MACVM_FAKE_OUTCOME does not apply
 *   MACVM_FAKE_SAVE=...           ok (default), validation (Virtualization refuses to save this
 *                                 configuration), pause or save (that step fails); a USB
 *                                 keyboard or pointer fails validation unless
 *                                 MACVM_FAKE_USB_SAVES=1 (a prediction too strict)
 *   MACVM_FAKE_GUEST=ignores      the guest ignores requests to shut down
 *   MACVM_FAKE_RESTORE=fail       restoring the saved state fails (it is used up all the same)
 *   MACVM_FAKE_STUB_PORT=N        the port the running debug stub reports (0: it does not say;
 *                                 default the port asked for, else 49152)
 *   MACVM_FAKE_NET_DISCONNECT=MSG the network attachment disconnects during the run with MSG
 *   MACVM_FAKE_INVALID=MSG        validateWithError: refuses the configuration with MSG
 *                                 (bridge_check_configuration)
 *   MACVM_FAKE_MISSING=A,B        classes ("Class", with all their methods) and methods
 *                                 ("Class selector:") this macOS lacks (bridge_has);
 *                                 everything else is present
 *   MACVM_FAKE_CONSOLE=TEXT       what the guest prints on its console and serial port (a default line otherwise)
 *   MACVM_FAKE_SCREENSHOT=fail    the screenshot does not come (as on 15.4+): the run reports why
 *   MACVM_FAKE_IDENTITY=fail      bridge_clone_identity fails
 *
 * When the spec asks for them it writes the console's and the serial port's
 * output into their files, and a screen.png stand-in (a real 1x1 PNG) when
 * the run ends in an error or a Ctrl-C.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <signal.h>
#include <time.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../bridge.h"

static const char *env(const char *name, const char *dflt)
{
    const char *v = getenv(name);
    return v && *v ? v : dflt;
}

/* Appends the record of one call to $MACVM_FAKE_SPEC. */
static void record_spec(const char *call, const struct vm_spec *s, const char *restore_image)
{
    const char *path = getenv("MACVM_FAKE_SPEC");
    FILE *f = path ? fopen(path, "a") : NULL;
    if (!f)
        return;
    fprintf(f, "call=%s\n", call);
    if (restore_image)
        fprintf(f, "restore_image=%s\n", restore_image);
    fprintf(f, "bundle=%s\nsource_bundle=%s\ndisk_image=%s\nauxiliary_storage=%s\n", s->bundle, s->source_bundle,
            s->disk_image, s->auxiliary_storage);
    fprintf(f, "hardware_model=%s\nmachine_identifier=%s\nsave_file=%s\n", s->hardware_model,
            s->machine_identifier, s->save_file);
    fprintf(f, "disk_caching=%d\ndisk_sync=%d\n", (int)s->disk_caching, (int)s->disk_sync);
    fprintf(f, "cpu_count=%u\nmemory_bytes=%llu\n", s->cpu_count, (unsigned long long)s->memory_bytes);
    fprintf(f, "display=%ux%u@%u\nmac_address=%s\n", s->display_width, s->display_height, s->display_ppi,
            s->mac_address);
    fprintf(f, "start_mode=%d\ndebug_stub=%d\ndebug_stub_port=%u\ndebug_stub_all_interfaces=%d\n", (int)s->start_mode,
            s->debug_stub, s->debug_stub_port, s->debug_stub_all_interfaces);
    fprintf(f, "set_boot_args=%d\nboot_args=%s\n", s->set_boot_args, s->boot_args);
    fprintf(f, "headless=%d\naudio=%d\nrestore_saved_state=%d\nsave_on_stop=%d\nsave_on_quit=%d\nephemeral=%d\n"
            "capture_log=%d\n", s->headless, s->audio, s->restore_saved_state, s->save_on_stop, s->save_on_quit,
            s->ephemeral, s->capture_log);
    fprintf(f, "keyboards=%s%s%s\n", s->mac_keyboard ? "mac" : "", s->mac_keyboard && s->usb_keyboard ? "," : "",
            s->usb_keyboard ? "usb" : "");
    fprintf(f, "pointing_devices=%s%s%s\n", s->mac_trackpad ? "mac" : "", s->mac_trackpad && s->usb_pointer ? "," : "",
            s->usb_pointer ? "usb" : "");
    fprintf(f, "save_possible=%d\nsave_why_not=%s\n", s->save_possible, s->save_why_not);
    fprintf(f, "ecid=%llx\ntitle=%s\n", (unsigned long long)s->ecid, s->title);
    fprintf(f, "console=%d\nconsole_log=%s\nserial=%d\nserial_log=%s\n", s->console, s->console_log, s->serial,
            s->serial_log);
    fprintf(f, "panic_action=%d\npanic_action_value=%lld\npanic_path=%d\npanic_device=%d\n", (int)s->panic_action,
            s->panic_action_value, (int)s->panic_path, s->panic_device);
    fprintf(f, "n_shares=%u\nshare_tag=%s\n", s->n_shares, s->share_tag);
    for (unsigned i = 0; i < s->n_shares; i++)
        fprintf(f, "share%u=%s|%s|%d\n", i, s->shares[i].path, s->shares[i].name, s->shares[i].read_only);
    fprintf(f, "screenshot=%d\nscreenshot_path=%s\nscreenshot_timeout_ms=%u\n", s->screenshot, s->screenshot_path,
            s->screenshot_timeout_ms);
    /* Whether the bundle the bridge got really holds the VM's files. */
    fprintf(f, "disk_exists=%d\n", access(s->disk_image, F_OK) == 0);
    fclose(f);
}

static void set_error(struct bridge_error *err, const char *domain, long code, const char *message)
{
    snprintf(err->domain, sizeof err->domain, "%s", domain);
    err->code = code;
    snprintf(err->message, sizeof err->message, "%s", message);
}

int bridge_host_info(struct host_info *info)
{
    memset(info, 0, sizeof *info);
    if (strcmp(env("MACVM_FAKE_HOST", ""), "none") == 0)
        return BRIDGE_UNAVAILABLE;
    const char *os = env("MACVM_FAKE_OS", "14.5");
    info->available = true;
    snprintf(info->os_version, sizeof info->os_version, "%s", os);
    snprintf(info->os_build, sizeof info->os_build, "23F79");
    snprintf(info->model, sizeof info->model, "Mac14,2");
    snprintf(info->chip, sizeof info->chip, "Apple M2");
    info->has_virtualization_entitlement = true;
    info->has_private_entitlement = strcmp(env("MACVM_FAKE_PRIVATE", "0"), "1") == 0;
    info->min_cpu_count = 1;
    info->max_cpu_count = 8;
    info->min_memory_bytes = 2ull << 30;
    info->max_memory_bytes = 32ull << 30;
    info->can_save_restore = atoi(os) >= 14;
    return BRIDGE_OK;
}

bool bridge_has(const char *class_name, const char *selector)
{
    char name[512];
    snprintf(name, sizeof name, "%s%s%s", class_name, selector ? " " : "", selector ? selector : "");
    const char *missing = env("MACVM_FAKE_MISSING", "");
    size_t n = strlen(name);
    size_t class_len = strlen(class_name);
    for (const char *p = missing; *p;) {
        size_t len = strcspn(p, ",");
        /* the method itself, or its class (a missing class has no methods) */
        if ((len == n && strncmp(p, name, n) == 0) || (len == class_len && strncmp(p, class_name, len) == 0))
            return false;
        p += len + (p[len] == ',');
    }
    return true;
}

int bridge_latest_image_url(char *url, size_t size, struct bridge_error *err)
{
    (void)err;
    snprintf(url, size, "https://updates.cdn-apple.com/fake/UniversalMac_15.1_24B83_Restore.ipsw");
    return BRIDGE_OK;
}

/* Copies src to dst.  Returns 0 or -1. */
static int copy_file(const char *src, const char *dst)
{
    FILE *in = fopen(src, "rb"), *out = in ? fopen(dst, "wb") : NULL;
    char buf[65536];
    size_t n;
    int rc = in && out ? 0 : -1;
    while (rc == 0 && (n = fread(buf, 1, sizeof buf, in)) > 0)
        if (fwrite(buf, 1, n, out) != n)
            rc = -1;
    if (in)
        fclose(in);
    if (out && fclose(out) != 0)
        rc = -1;
    return rc;
}

int bridge_download(const char *url, const char *dest, const char *resume, bridge_progress_fn progress, void *ctx,
                    struct bridge_error *err)
{
    (void)url;
    (void)resume;
    for (uint64_t i = 0; i <= 4; i++)
        progress(ctx, i << 20, 4 << 20);
    if (copy_file(env("MACVM_FAKE_IPSW", "tests/fixtures/ipsw/macOS-14.5-vm.ipsw"), dest) != 0) {
        set_error(err, "NSURLErrorDomain", -1100, "The requested URL was not found on this server.");
        return BRIDGE_FAILED;
    }
    return BRIDGE_OK;
}

/* The image bridge_load_restore_image loaded last: bridge_install installs
 * it, as the real bridge does, and fails for any other. */
static char loaded_image[VM_PATH_MAX];

int bridge_load_restore_image(const char *path, struct restore_image_info *info, struct bridge_error *err)
{
    memset(info, 0, sizeof *info);
    snprintf(loaded_image, sizeof loaded_image, "%s", path);
    if (access(path, R_OK) != 0) {
        set_error(err, "VZErrorDomain", 10004, "The restore image failed to load.");
        return BRIDGE_FAILED;
    }
    info->supported_on_host = strcmp(env("MACVM_FAKE_UNSUPPORTED", "0"), "1") != 0;
    info->min_cpu_count = (unsigned)strtoul(env("MACVM_FAKE_MIN_CPUS", "0"), NULL, 10);
    info->min_memory_bytes = strtoull(env("MACVM_FAKE_MIN_MEMORY", "0"), NULL, 10);
    return BRIDGE_OK;
}

static int run_until_interrupted(int seconds);

int bridge_install(const struct install_spec *spec, bridge_progress_fn progress, void *ctx, struct bridge_error *err)
{
    if (strcmp(loaded_image, spec->restore_image) != 0) {
        set_error(err, "macvm", BRIDGE_FAILED, "the restore image was not loaded first");
        return BRIDGE_FAILED;
    }
    record_spec("install", &spec->vm, spec->restore_image);
    const char *path = getenv("MACVM_FAKE_SPEC");
    FILE *f = path ? fopen(path, "a") : NULL;
    if (f) {
        fprintf(f, "serial_number=%s\n", spec->serial_number);
        fclose(f);
    }
    const char *fixtures = env("MACVM_FAKE_FIXTURES", "tests/fixtures/plist");
    char hw[1200], mi[1200];
    snprintf(hw, sizeof hw, "%s/HardwareModel", fixtures);
    snprintf(mi, sizeof mi, "%s/MachineIdentifier", fixtures);
    if (copy_file(hw, spec->vm.hardware_model) != 0 || copy_file(mi, spec->vm.machine_identifier) != 0) {
        set_error(err, "NSCocoaErrorDomain", 4, "fake bridge: cannot copy the identity fixtures");
        return BRIDGE_FAILED;
    }
    int fd = open(spec->vm.auxiliary_storage, O_WRONLY | O_CREAT | O_EXCL, 0644);
    if (fd >= 0) {
        if (ftruncate(fd, (32 << 20) + (16 << 10)) != 0)
            perror("fake bridge: AuxiliaryStorage");
        close(fd);
    }
    const char *how = env("MACVM_FAKE_INSTALL", "ok");
    for (uint64_t i = 0; i <= 100; i += 25) {
        progress(ctx, i, 100);
        if (i == 50 && run_until_interrupted(atoi(env("MACVM_FAKE_INSTALL_SECONDS", "0"))))
            return BRIDGE_INTERRUPTED;
        if (i == 50 && strcmp(how, "ok") != 0)
            break;
    }
    if (strcmp(how, "interrupt") == 0)
        return BRIDGE_INTERRUPTED;
    if (strcmp(how, "fail") == 0) {
        set_error(err, "VZErrorDomain", 10007, "Installation failed. AMRestorePerformRestoreModeRestoreWithError failed with error 11");
        return BRIDGE_FAILED;
    }
    return BRIDGE_OK;
}

int bridge_clone_identity(const char *machine_identifier, struct bridge_error *err)
{
    const char *path = getenv("MACVM_FAKE_SPEC");
    FILE *f = path ? fopen(path, "a") : NULL;
    if (f) {
        fprintf(f, "call=clone_identity\nmachine_identifier=%s\n", machine_identifier);
        fclose(f);
    }
    if (strcmp(env("MACVM_FAKE_IDENTITY", "ok"), "fail") == 0) {
        set_error(err, "macvm", BRIDGE_UNAVAILABLE, "+[VZMacMachineIdentifier "
                  "_machineIdentifierForVirtualMachineCloneWithSerialNumber:] is not available on macOS 12.7");
        return BRIDGE_UNAVAILABLE;
    }
    /* A new identity: the MachineIdentifier fixture with another ECID. */
    return copy_file(env("MACVM_FAKE_NEW_IDENTITY", "tests/fixtures/plist/MachineIdentifier-small"), machine_identifier)
               ? (set_error(err, "NSCocoaErrorDomain", 4, "fake bridge: cannot write the identity"), BRIDGE_FAILED)
               : BRIDGE_OK;
}

/* Appends what the "guest" prints to a console or serial log. */
static void guest_prints(const char *log, const char *port)
{
    FILE *f = *log ? fopen(log, "a") : NULL;
    if (!f)
        return;
    const char *text = getenv("MACVM_FAKE_CONSOLE");
    if (text)
        fputs(text, f);
    else
        fprintf(f, "%s: fake guest booted\n", port);
    fclose(f);
}

/* Saves the "display" as a 1x1 PNG, or says why not (outcome). */
static void take_screenshot(const struct vm_spec *spec, struct run_outcome *outcome)
{
    static const unsigned char png[] = {
        0x89, 'P', 'N', 'G', 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13, 'I', 'H', 'D', 'R', 0, 0, 0, 1, 0, 0, 0, 1, 8, 0,
        0, 0, 0, 0x3a, 0x7e, 0x9b, 0x55, 0, 0, 0, 10, 'I', 'D', 'A', 'T', 0x78, 0x9c, 0x63, 0x60, 0, 0, 0, 2, 0, 1,
        0x48, 0xaf, 0xa4, 0x71, 0, 0, 0, 0, 'I', 'E', 'N', 'D', 0xae, 0x42, 0x60, 0x82,
    };
    if (!spec->screenshot)
        return;
    if (strcmp(env("MACVM_FAKE_SCREENSHOT", "ok"), "fail") == 0) {
        snprintf(outcome->screenshot_failure, sizeof outcome->screenshot_failure,
                 "the display gave no picture within %u ms", spec->screenshot_timeout_ms);
        return;
    }
    FILE *f = fopen(spec->screenshot_path, "wb");
    outcome->screenshot_taken = f && fwrite(png, 1, sizeof png, f) == sizeof png;
    if (f)
        fclose(f);
}

static volatile sig_atomic_t fake_interrupted;

static void on_fake_interrupt(int sig)
{
    (void)sig;
    fake_interrupted = 1;
}

/* "Runs" for seconds, or until SIGINT.  Returns whether it was interrupted. */
static int run_until_interrupted(int seconds)
{
    struct sigaction sa = {0}, old;
    sa.sa_handler = on_fake_interrupt;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, &old);
    struct timespec tick = {0, 50 * 1000 * 1000};
    for (int i = 0; i < seconds * 20 && !fake_interrupted; i++)
        nanosleep(&tick, NULL);
    sigaction(SIGINT, &old, NULL);
    return fake_interrupted;
}

/* Whether the fake's Virtualization would save and restore this configuration:
 * not with a USB keyboard or pointer (as tart's users found), nor when
 * MACVM_FAKE_SAVE=validation.  Fills *err when not. */
static bool fake_save_supported(const struct vm_spec *spec, struct bridge_error *err)
{
    if ((spec->usb_keyboard || spec->usb_pointer) && strcmp(env("MACVM_FAKE_USB_SAVES", "0"), "1") != 0)
        set_error(err, "VZErrorDomain", 2, "Unsupported keyboard device in configuration.");
    else if (strcmp(env("MACVM_FAKE_SAVE", "ok"), "validation") == 0)
        set_error(err, "VZErrorDomain", 2, "Unsupported device in configuration.");
    else
        return true;
    return false;
}

/* Plays $MACVM_FAKE_EVENTS (quit, ctrl-c, stop, force; comma-separated) as the
 * real bridge would, doing what macvm_stop_action says: a save writes
 * save_file unless MACVM_FAKE_SAVE=pause or save makes that step fail; the
 * guest shuts down when asked unless MACVM_FAKE_GUEST=ignores.  A run whose
 * events end nothing ends when the guest shuts itself down. */
static int fake_events(const struct vm_spec *spec, struct run_outcome *o)
{
    static const struct { const char *name; enum stop_event event; } names[] = {
        {"quit", STOP_EVENT_QUIT}, {"ctrl-c", STOP_EVENT_INTERRUPT}, {"stop", STOP_EVENT_STOP_ITEM},
        {"force", STOP_EVENT_FORCE_ITEM},
    };
    const char *save = env("MACVM_FAKE_SAVE", "ok");
    bool ignores = strcmp(env("MACVM_FAKE_GUEST", "stops"), "ignores") == 0, stopping = false;
    for (const char *p = env("MACVM_FAKE_EVENTS", ""); *p;) {
        size_t len = strcspn(p, ",");
        enum stop_action action = STOP_ACTION_NONE;
        for (size_t i = 0; i < sizeof names / sizeof *names; i++)
            if (strlen(names[i].name) == len && strncmp(p, names[i].name, len) == 0)
                action = macvm_stop_action(spec, o, names[i].event, stopping);
        p += len + (p[len] == ',');
        if (action == STOP_ACTION_SAVE) {
            stopping = true;
            if (strcmp(save, "pause") == 0 || strcmp(save, "save") == 0) {
                action = macvm_save_failed(o, save, strcmp(save, "pause") == 0 ? "The operation couldn't be completed."
                                                   : "Failed to save the virtual machine state.", true);
            } else {
                FILE *f = fopen(spec->save_file, "w");
                if (f) {
                    fputs("fake saved state\n", f);
                    fclose(f);
                }
                o->saved_state = true;
                return BRIDGE_OK;
            }
        }
        if (action == STOP_ACTION_REQUEST) {
            stopping = true;
            if (!ignores) {
                o->guest_stopped = true;
                return BRIDGE_OK;
            }
        }
        if (action == STOP_ACTION_FORCE)
            return BRIDGE_OK;   /* stopped by force */
    }
    o->guest_stopped = true;
    return BRIDGE_OK;
}

int bridge_check_configuration(const struct vm_spec *spec, bool *save_supported, struct bridge_error *err,
                               struct bridge_error *save_err)
{
    record_spec("check", spec, NULL);
    *save_supported = false;
    const char *invalid = env("MACVM_FAKE_INVALID", "");
    if (*invalid) {
        set_error(err, "VZErrorDomain", 2, invalid);
        return BRIDGE_FAILED;
    }
    if (atoi(env("MACVM_FAKE_OS", "14.5")) < 14)
        set_error(save_err, "macvm", BRIDGE_UNAVAILABLE, "saving a VM's state is not available on this macOS");
    else
        *save_supported = fake_save_supported(spec, save_err);
    return BRIDGE_OK;
}

int bridge_run(const struct vm_spec *spec, struct run_outcome *outcome)
{
    memset(outcome, 0, sizeof *outcome);
    if (macvm_interrupted())
        return BRIDGE_INTERRUPTED;
    record_spec("run", spec, NULL);
    struct bridge_error unsavable;
    bool saves = atoi(env("MACVM_FAKE_OS", "14.5")) >= 14 && fake_save_supported(spec, &unsavable);
    if (atoi(env("MACVM_FAKE_OS", "14.5")) >= 14)
        outcome->save_check = saves ? SAVE_CHECK_SUPPORTED : SAVE_CHECK_REFUSED;
    else
        set_error(&unsavable, "macvm", BRIDGE_UNAVAILABLE, "saving a VM's state is not available on this macOS");
    if ((spec->restore_saved_state || spec->save_possible) && !saves) {
        if (spec->restore_saved_state) {   /* the save file is kept, the VM not started */
            outcome->restore_refused = true;
            outcome->error = unsavable;
            return BRIDGE_FAILED;
        }
        macvm_save_failed(outcome, "validation", unsavable.message, true);
    }
    if (spec->restore_saved_state) {
        outcome->restore_attempted = true;
        unlink(spec->save_file);   /* as Apple's sample: a restore that was tried uses the state up */
        if (strcmp(env("MACVM_FAKE_RESTORE", "ok"), "fail") != 0)
            outcome->restored_state = true;
        else if (!macvm_restore_failed(outcome, "Failed to restore (VZErrorDomain 12)")) {
            set_error(&outcome->error, "VZErrorDomain", 12, "Failed to restore");
            return BRIDGE_FAILED;
        }
    }
    /* What the running stub reports: by default the port asked for, else one the system chose. */
    const char *reported = env("MACVM_FAKE_STUB_PORT", "");
    outcome->debug_stub_port = !spec->debug_stub ? 0 : *reported ? (unsigned)atoi(reported)
                             : spec->debug_stub_port ? spec->debug_stub_port : 49152;
    macvm_vm_started(spec, outcome->debug_stub_port);
    if (spec->console)
        guest_prints(spec->console_log, "console");
    if (spec->serial)
        guest_prints(spec->serial_log, "serial");
    if (strcmp(env("MACVM_FAKE_WRITE_DISK", "0"), "1") == 0) {
        int fd = open(spec->disk_image, O_WRONLY);
        if (fd < 0 || pwrite(fd, "guest was here", 14, 4096) != 14)
            perror("fake bridge: Disk.img");
        if (fd >= 0)
            close(fd);
    }
    snprintf(outcome->network_disconnected, sizeof outcome->network_disconnected, "%s",
             env("MACVM_FAKE_NET_DISCONNECT", ""));
    if (run_until_interrupted(atoi(env("MACVM_FAKE_RUN_SECONDS", "0")))) {
        take_screenshot(spec, outcome);
        return BRIDGE_INTERRUPTED;
    }
    if (*env("MACVM_FAKE_EVENTS", ""))
        return fake_events(spec, outcome);
    const char *how = env("MACVM_FAKE_OUTCOME", "guest-stopped");
    if (strcmp(how, "guest-stopped") == 0) {
        outcome->guest_stopped = true;
        return BRIDGE_OK;
    }
    if (strcmp(how, "stopped") == 0)
        return BRIDGE_OK;
    if (strcmp(how, "saved") == 0) {
        outcome->saved_state = true;
        return BRIDGE_OK;
    }
    if (strcmp(how, "interrupted") == 0) {
        take_screenshot(spec, outcome);
        return BRIDGE_INTERRUPTED;
    }
    if (strcmp(how, "unavailable") == 0) {
        set_error(&outcome->error, "macvm", 0, "_VZGDBDebugStubConfiguration is not available on macOS 14.5");
        return BRIDGE_UNAVAILABLE;
    }
    if (strncmp(how, "error:", 6) == 0) {
        char domain[128] = "", message[1024] = "";
        long code = 0;
        if (sscanf(how + 6, "%127[^:]:%ld:%1023[^\n]", domain, &code, message) >= 2) {
            take_screenshot(spec, outcome);
            set_error(&outcome->error, domain, code, message);
            return BRIDGE_FAILED;
        }
    }
    set_error(&outcome->error, "macvm", 0, "fake bridge: unknown MACVM_FAKE_OUTCOME");
    return BRIDGE_FAILED;
}
