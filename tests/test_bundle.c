/* test_bundle.c -- the bundle layout, Config.plist and `macvm info`.
 *
 * Contract under test (issue acceptance items "Bundle layout" and "info"):
 *   - A bundle is Apple's sample's layout: Disk.img, AuxiliaryStorage,
 *     HardwareModel, MachineIdentifier, optional SaveFile.vzvmsave, plus
 *     macvm's optional XML Config.plist (CPUCount, MemorySize, DisplayWidth,
 *     DisplayHeight, DisplayPixelsPerInch, MACAddress, InstalledFromIPSW,
 *     InstalledProductVersion, InstalledBuild, InstallCompleted,
 *     InstalledMinCPUCount, InstalledMinMemorySize).
 *   - Without Config.plist: Apple's defaults -- CPUs host cores - 1, at least 1,
 *     within the host's limits from the bridge (the fake: 1..8); 4 GiB; 1920x1200
 *     at 80 ppi; NAT with an address Virtualization picks.
 *   - `macvm info --json`: hardware_model {data_representation_version 1,
 *     platform_version 2, minimum_supported_os "13.0.0"} (the fixture's
 *     DataRepresentationVersion is a 16-byte integer), machine_identifier
 *     {ecid "0xa1b2c3d4e5f60718"} (above 2^63), disk {logical_bytes,
 *     allocated_bytes}, auxiliary_storage_bytes, config (+ defaults list),
 *     installed, saved_state, runs, problems.
 *   - Damaged bundle: exit 65, one stderr line naming each damaged file, and
 *     stdout still shows what could be read.  Missing bundle: exit 66.
 * Bundles are made in a per-test temp dir from tests/fixtures/bundles/ with a
 * sparse Disk.img.
 */
#include "test_vm_common.c"

/* The default CPU count with the fake bridge's limits (1..8). */
#define VT_FAKE_DEFAULT_CPUS vt_default_cpus(1, 8)

Test(bundle, info_json_decodes_apple_layout, .init = vt_init, .fini = t_tmp_fini)
{
    char *b = vt_bundle(t_tmp, "VM.bundle", "apple", 64 * VT_GIB);
    char *disk = t_path_join(b, "Disk.img");
    vt_fill(disk, 0, 1 * VT_MIB, 1);
    vt_fill(disk, 40 * VT_GIB, 256 * VT_KIB, 2);
    uint64_t allocated = vt_allocated(disk);
    cr_assert(allocated >= 1 * VT_MIB && allocated < 64 * VT_MIB, "the test's disk should be sparse: %llu",
              (unsigned long long)allocated);

    struct proc_result r = run_macvm("info", "--json", b, NULL);
    const struct plist *j = vt_expect_json_ok(&r, "info --json");
    cr_expect_eq(r.err_len, 0, "stderr should be empty: %s", r.err);
    vt_json_str(j, "bundle", b, r.out);
    vt_json_uint(j, "hardware_model.data_representation_version", 1, r.out);
    vt_json_uint(j, "hardware_model.platform_version", 2, r.out);
    vt_json_str(j, "hardware_model.minimum_supported_os", "13.0.0", r.out);
    vt_json_str(j, "machine_identifier.ecid", VT_ECID, r.out);
    vt_json_uint(j, "disk.logical_bytes", 64 * VT_GIB, r.out);
    vt_json_uint(j, "disk.allocated_bytes", allocated, r.out);
    vt_json_uint(j, "auxiliary_storage_bytes", 65536, r.out);
    /* the CPUs a run gets by default here: host cores - 1, at least one (./macvm knows no host limits) */
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    vt_json_uint(j, "config.cpu_count", cores > 1 ? (uint64_t)cores - 1 : 1, r.out);
    vt_json_uint(j, "config.memory_bytes", 4 * VT_GIB, r.out);
    vt_json_uint(j, "config.display.width", 1920, r.out);
    vt_json_uint(j, "config.display.height", 1200, r.out);
    vt_json_uint(j, "config.display.pixels_per_inch", 80, r.out);
    vt_json_null(j, "config.mac_address", r.out);
    static const char *const defaults[] = {"cpu_count", "memory_bytes", "display", "mac_address", NULL};
    vt_json_strings(j, "config.defaults", defaults, r.out);
    vt_json_null(j, "installed.from", r.out);
    vt_json_null(j, "installed.product_version", r.out);
    vt_json_null(j, "installed.build", r.out);
    vt_json_bool(j, "installed.completed", true, r.out);
    vt_json_bool(j, "saved_state", false, r.out);
    cr_expect(vt_get(j, "runs") && vt_get(j, "runs")->count == 0, "runs should be []: %s", r.out);
    cr_expect(vt_get(j, "problems") && vt_get(j, "problems")->count == 0, "problems should be []: %s", r.out);
    cr_expect(strstr(r.out, ": ") == NULL && strstr(r.out, ", ") == NULL, "JSON should be compact: %s", r.out);
    proc_result_free(&r);
    free(disk);
    free(b);
}

Test(bundle, info_json_reads_config_plist, .init = vt_init, .fini = t_tmp_fini)
{
    char *b = vt_bundle(t_tmp, "Configured.bundle", "configured", 80 * VT_GIB);
    struct proc_result r = run_macvm("info", b, "--json", NULL);
    const struct plist *j = vt_expect_json_ok(&r, "info --json");
    cr_expect_eq(r.err_len, 0, "stderr should be empty: %s", r.err);
    vt_json_uint(j, "config.cpu_count", 4, r.out);
    vt_json_uint(j, "config.memory_bytes", 8 * VT_GIB, r.out);
    vt_json_uint(j, "config.display.width", 2560, r.out);
    vt_json_uint(j, "config.display.height", 1600, r.out);
    vt_json_uint(j, "config.display.pixels_per_inch", 144, r.out);
    vt_json_str(j, "config.mac_address", "8a:2c:11:de:ad:01", r.out);
    static const char *const none[] = {NULL};
    vt_json_strings(j, "config.defaults", none, r.out);
    vt_json_str(j, "installed.from", "UniversalMac_14.5_23F79_Restore.ipsw", r.out);
    vt_json_str(j, "installed.product_version", "14.5", r.out);
    vt_json_str(j, "installed.build", "23F79", r.out);
    vt_json_bool(j, "installed.completed", true, r.out);
    vt_json_uint(j, "disk.logical_bytes", 80 * VT_GIB, r.out);
    vt_json_str(j, "machine_identifier.ecid", VT_ECID, r.out);
    proc_result_free(&r);
    free(b);
}

/* Every Config.plist key, written by hand as plutil would, is read back. */
Test(bundle, every_config_plist_key_is_used, .init = vt_init, .fini = t_tmp_fini)
{
    char *b = vt_bundle(t_tmp, "All.bundle", "apple", 8 * VT_GIB);
    char *cfg = t_path_join(b, "Config.plist");
    vt_write_text(cfg, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                       "<!DOCTYPE plist PUBLIC \"-//Apple//DTD PLIST 1.0//EN\" "
                       "\"http://www.apple.com/DTDs/PropertyList-1.0.dtd\">\n"
                       "<plist version=\"1.0\">\n<dict>\n"
                       "\t<key>CPUCount</key>\n\t<integer>3</integer>\n"
                       "\t<key>MemorySize</key>\n\t<integer>6442450944</integer>\n"
                       "\t<key>DisplayWidth</key>\n\t<integer>1440</integer>\n"
                       "\t<key>DisplayHeight</key>\n\t<integer>900</integer>\n"
                       "\t<key>DisplayPixelsPerInch</key>\n\t<integer>110</integer>\n"
                       "\t<key>MACAddress</key>\n\t<string>02:11:22:33:44:55</string>\n"
                       "\t<key>InstalledFromIPSW</key>\n\t<string>UniversalMac_13.0_22A380_Restore.ipsw</string>\n"
                       "\t<key>InstalledProductVersion</key>\n\t<string>13.0</string>\n"
                       "\t<key>InstalledBuild</key>\n\t<string>22A380</string>\n"
                       "\t<key>InstallCompleted</key>\n\t<true/>\n"
                       "\t<key>InstalledMinCPUCount</key>\n\t<integer>3</integer>\n"
                       "\t<key>InstalledMinMemorySize</key>\n\t<integer>6442450944</integer>\n"
                       "</dict>\n</plist>\n");
    struct proc_result r = run_macvm("info", "--json", b, NULL);
    const struct plist *j = vt_expect_json_ok(&r, "info --json");
    vt_json_uint(j, "config.cpu_count", 3, r.out);
    vt_json_uint(j, "config.memory_bytes", 6 * VT_GIB, r.out);
    vt_json_uint(j, "config.display.width", 1440, r.out);
    vt_json_uint(j, "config.display.height", 900, r.out);
    vt_json_uint(j, "config.display.pixels_per_inch", 110, r.out);
    vt_json_str(j, "config.mac_address", "02:11:22:33:44:55", r.out);
    vt_json_str(j, "installed.from", "UniversalMac_13.0_22A380_Restore.ipsw", r.out);
    vt_json_str(j, "installed.product_version", "13.0", r.out);
    vt_json_str(j, "installed.build", "22A380", r.out);
    vt_json_bool(j, "installed.completed", true, r.out);
    proc_result_free(&r);

    /* The run uses them, and the minimums are enforced. */
    r = run_fake("run", "--dry-run", "--json", b, NULL);
    j = vt_expect_json_ok(&r, "run --dry-run --json");
    vt_json_uint(j, "cpu_count", 3, r.out);
    vt_json_uint(j, "memory_bytes", 6 * VT_GIB, r.out);
    vt_json_uint(j, "display.width", 1440, r.out);
    vt_json_uint(j, "display.height", 900, r.out);
    vt_json_uint(j, "display.pixels_per_inch", 110, r.out);
    vt_json_str(j, "mac_address", "02:11:22:33:44:55", r.out);
    proc_result_free(&r);
    r = run_fake("run", "--dry-run", "--cpus", "2", b, NULL);
    vt_expect_refusal(&r, EX_USAGE, "3", "--cpus 2 below InstalledMinCPUCount 3");
    proc_result_free(&r);
    r = run_fake("run", "--dry-run", "--memory", "5G", b, NULL);
    vt_expect_refusal(&r, EX_USAGE, "13.0", "--memory 5G below InstalledMinMemorySize 6 GiB");
    proc_result_free(&r);
    free(cfg);
    free(b);
}

/* A Config.plist with some keys: only the others are listed as defaults. */
Test(bundle, partial_config_plist_lists_the_rest_as_defaults, .init = vt_init, .fini = t_tmp_fini)
{
    char *b = vt_bundle(t_tmp, "Partial.bundle", "apple", 8 * VT_GIB);
    char *cfg = t_path_join(b, "Config.plist");
    vt_write_text(cfg, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<plist version=\"1.0\">\n<dict>\n"
                       "\t<key>MemorySize</key>\n\t<integer>8589934592</integer>\n</dict>\n</plist>\n");
    struct proc_result r = run_macvm("info", "--json", b, NULL);
    const struct plist *j = vt_expect_json_ok(&r, "info --json");
    vt_json_uint(j, "config.memory_bytes", 8 * VT_GIB, r.out);
    static const char *const defaults[] = {"cpu_count", "display", "mac_address", NULL};
    vt_json_strings(j, "config.defaults", defaults, r.out);
    proc_result_free(&r);
    free(cfg);
    free(b);
}

Test(bundle, info_text_shows_decoded_values, .init = vt_init, .fini = t_tmp_fini)
{
    char *b = vt_bundle(t_tmp, "VM.bundle", "apple", 64 * VT_GIB);
    struct proc_result r = run_macvm("info", b, NULL);
    cr_assert_eq(r.status, 0, "exit %d; stderr: %s", r.status, r.err);
    cr_expect_eq(r.err_len, 0, "stderr should be empty: %s", r.err);
    cr_expect(r.out[0] != '{', "text output should not be JSON: %s", r.out);
    const char *want[] = {("ECID " VT_ECID), "DataRepresentationVersion 1", "PlatformVersion 2",
                          "MinimumSupportedOS 13.0.0", "64 GiB", "AuxiliaryStorage:   64 KiB",
                          "1920x1200 at 80 ppi (default)", "4 GiB (default)", "NAT"};
    for (size_t i = 0; i < sizeof want / sizeof *want; i++)
        cr_expect(strstr(r.out, want[i]) != NULL, "stdout lacks \"%s\": %s", want[i], r.out);
    proc_result_free(&r);
    free(b);
}

/* HardwareModel is text, MachineIdentifier lacks ECID; Disk.img present. */
Test(bundle, info_damaged_names_each_file_and_shows_the_rest, .init = vt_init, .fini = t_tmp_fini)
{
    char *b = vt_bundle(t_tmp, "Damaged.bundle", "damaged", 2 * VT_GIB);
    struct proc_result r = run_macvm("info", "--json", b, NULL);
    cr_expect_eq(r.status, EX_DATAERR, "exit %d, want 65; stderr: %s", r.status, r.err);
    cr_expect_eq(count_lines(r.err), 2, "one stderr line per damaged file, got: %s", r.err);
    char want[4096];
    snprintf(want, sizeof want, "macvm: %s/HardwareModel: ", b);
    cr_expect(strstr(r.err, want) != NULL, "stderr should name %s/HardwareModel: %s", b, r.err);
    snprintf(want, sizeof want, "macvm: %s/MachineIdentifier: ", b);
    cr_expect(strstr(r.err, want) != NULL, "stderr should name %s/MachineIdentifier: %s", b, r.err);
    cr_expect(strstr(r.err, "ECID") != NULL, "stderr should say ECID is missing: %s", r.err);
    cr_expect(strstr(r.err, "Disk.img") == NULL && strstr(r.err, "AuxiliaryStorage") == NULL,
              "only the damaged files are named: %s", r.err);

    cr_expect_eq(count_lines(r.out), 1, "stdout should still hold the JSON: %s", r.out);
    const struct plist *j = vt_json(r.out);
    vt_json_null(j, "hardware_model", r.out);
    vt_json_null(j, "machine_identifier", r.out);
    vt_json_uint(j, "disk.logical_bytes", 2 * VT_GIB, r.out);
    vt_json_uint(j, "auxiliary_storage_bytes", 65536, r.out);
    vt_json_uint(j, "config.memory_bytes", 4 * VT_GIB, r.out);
    const struct plist *p = vt_get(j, "problems");
    cr_expect(p && p->count == 2, "problems should list 2 files: %s", r.out);
    vt_json_str(j, "problems.0.file", "HardwareModel", r.out);
    vt_json_str(j, "problems.1.file", "MachineIdentifier", r.out);
    proc_result_free(&r);
    free(b);
}

/* The damaged fixture as committed: no Disk.img either. */
Test(bundle, info_damaged_without_disk_names_disk_too, .init = vt_init, .fini = t_tmp_fini)
{
    char *b = vt_bundle(t_tmp, "Damaged.bundle", "damaged", 0);
    struct proc_result r = run_macvm("info", b, NULL);
    cr_expect_eq(r.status, EX_DATAERR, "exit %d, want 65; stderr: %s", r.status, r.err);
    cr_expect_eq(count_lines(r.err), 3, "one stderr line per damaged file, got: %s", r.err);
    const char *files[] = {"HardwareModel", "MachineIdentifier", "Disk.img"};
    for (int i = 0; i < 3; i++) {
        char want[4096];
        snprintf(want, sizeof want, "macvm: %s/%s: ", b, files[i]);
        cr_expect(strstr(r.err, want) != NULL, "stderr should name %s/%s: %s", b, files[i], r.err);
    }
    /* the text form still shows what it read */
    cr_expect(strstr(r.out, "AuxiliaryStorage:   64 KiB") != NULL, "stdout should show AuxiliaryStorage: %s", r.out);
    cr_expect(strstr(r.out, "Bundle:") != NULL, "stdout should show the bundle: %s", r.out);
    proc_result_free(&r);
    free(b);
}

Test(bundle, info_missing_bundle_is_66, .init = vt_init, .fini = t_tmp_fini)
{
    char *b = t_path_join(t_tmp, "Nothing.bundle");
    struct proc_result r = run_macvm("info", "--json", b, NULL);
    vt_expect_refusal(&r, EX_NOINPUT, b, "missing bundle");
    cr_expect_eq(r.out_len, 0, "stdout should be empty: %s", r.out);
    cr_expect(!vt_exists(b), "info must not create %s", b);
    proc_result_free(&r);

    /* a regular file is not a bundle either, nor a place to install one (an image given by mistake) */
    vt_write_text(b, "not a bundle\n");
    const char *const commands[] = {"info", "feedback", "pvg-log"};
    for (size_t i = 0; i < 3; i++) {
        r = run_macvm(commands[i], b, NULL);
        vt_expect_refusal(&r, EX_NOINPUT, b, "a file instead of a bundle");
        cr_expect(strstr(r.err, "not a VM bundle: a regular file, not a folder") && strstr(r.err, "macvm ipsw FILE") &&
                  !strstr(r.err, "macvm install"), "%s: say what is there, not to install over it: %s", commands[i],
                  r.err);
        proc_result_free(&r);
    }
    free(b);
}

/* A link to nothing where the bundle should be: named as such, not "create
 * one with macvm install", which would refuse the path as taken. */
Test(bundle, a_link_to_nothing_is_no_place_to_install, .init = vt_init, .fini = t_tmp_fini)
{
    char *b = t_path_join(t_tmp, "Gone.bundle");
    cr_assert_eq(symlink("nowhere", b), 0, "symlink %s: %s", b, strerror(errno));
    struct proc_result r = run_fake("install", "--ipsw", "tests/fixtures/ipsw/macOS-14.5-vm.ipsw", b, NULL);
    vt_expect_refusal(&r, EX_CANTCREAT, "already exists", "install over a link");   /* what the advice would meet */
    proc_result_free(&r);
    const char *const commands[] = {"info", "feedback", "pvg-log", "run"};
    for (size_t i = 0; i < 4; i++) {
        r = run_fake(commands[i], b, NULL);
        vt_expect_refusal(&r, EX_NOINPUT, "not a VM bundle: a symbolic link to nothing", commands[i]);
        cr_expect(strstr(r.err, b) && !strstr(r.err, "macvm install"), "%s: name the link, and no install over "
                  "it: %s", commands[i], r.err);
        proc_result_free(&r);
    }
    char *target = t_path_join(t_tmp, "nowhere");
    cr_expect(!vt_exists(target), "nothing may be made where the link points");
    free(target);
    free(b);
}

/* A bundle deeper than the bridge's fields can name: info reads it whole
 * (nothing cut short), a run is refused before anything starts, and no clone
 * is made to such a path. */
Test(bundle, a_bundle_path_too_long_for_the_bridge, .init = vt_init, .fini = t_tmp_fini)
{
    char *dir = vt_deep_folder();
    char *b = vt_bundle(dir, "VM.bundle", "apple", 4 * VT_GIB);
    struct proc_result r = run_macvm("info", "--json", b, NULL);
    vt_json_str(vt_expect_json_ok(&r, "info of a deep bundle"), "machine_identifier.ecid", VT_ECID, r.out);
    proc_result_free(&r);
    r = run_macvm("run", "--dry-run", b, NULL);
    vt_expect_refusal(&r, EX_USAGE, "longer than", "run of a bundle path longer than VM_PATH_MAX");
    cr_expect_eq(r.out_len, 0, "stdout should be empty: %s", r.out);
    proc_result_free(&r);
    char *near = vt_bundle(t_tmp, "Near.bundle", "apple", 4 * VT_GIB), *far = t_path_join(dir, "Far.bundle");
    int entries = vt_count_entries(dir);
    r = run_macvm("clone", near, far, NULL);
    vt_expect_refusal(&r, EX_USAGE, "the destination", "clone to a path longer than VM_PATH_MAX");
    cr_expect_eq(vt_count_entries(dir), entries, "nothing copied beside the destination");
    proc_result_free(&r);
    free(far);
    free(near);
    free(b);
    free(dir);
}

/* Without a BUNDLE argument, info looks at ~/VM.bundle. */
Test(bundle, info_default_bundle_is_home_vm_bundle, .init = vt_init, .fini = t_tmp_fini)
{
    setenv("HOME", t_tmp, 1);
    char *b = t_path_join(t_tmp, "VM.bundle");
    struct proc_result r = run_macvm("info", "--json", NULL);
    vt_expect_refusal(&r, EX_NOINPUT, b, "no ~/VM.bundle");
    proc_result_free(&r);
    free(vt_bundle(t_tmp, "VM.bundle", "apple", 4 * VT_GIB));
    r = run_macvm("info", "--json", NULL);
    const struct plist *j = vt_expect_json_ok(&r, "info --json of ~/VM.bundle");
    vt_json_str(j, "bundle", b, r.out);
    vt_json_str(j, "machine_identifier.ecid", VT_ECID, r.out);
    proc_result_free(&r);
    free(b);
}

Test(bundle, info_damaged_config_plist, .init = vt_init, .fini = t_tmp_fini)
{
    char *b = vt_bundle(t_tmp, "BadConfig.bundle", "apple", 4 * VT_GIB);
    char *cfg = t_path_join(b, "Config.plist");
    vt_write_text(cfg, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<plist version=\"1.0\">\n<dict>\n"
                       "\t<key>CPUCount</key>\n\t<string>four</string>\n</dict>\n</plist>\n");
    struct proc_result r = run_macvm("info", "--json", b, NULL);
    cr_expect_eq(r.status, EX_DATAERR, "exit %d, want 65; stderr: %s", r.status, r.err);
    cr_expect_eq(count_lines(r.err), 1, "one stderr line: %s", r.err);
    char want[4096];
    snprintf(want, sizeof want, "%s/Config.plist", b);
    cr_expect(strstr(r.err, want) != NULL && strstr(r.err, "CPUCount") != NULL,
              "stderr should name %s and CPUCount: %s", want, r.err);
    const struct plist *j = vt_json(r.out);
    vt_json_str(j, "machine_identifier.ecid", VT_ECID, r.out);
    vt_json_uint(j, "config.memory_bytes", 4 * VT_GIB, r.out);
    proc_result_free(&r);

    r = run_macvm("run", "--dry-run", b, NULL);
    vt_expect_refusal(&r, EX_DATAERR, "CPUCount", "run --dry-run with a bad Config.plist");
    cr_expect(strstr(r.err, "Config.plist") != NULL, "stderr should name Config.plist: %s", r.err);
    proc_result_free(&r);

    /* not a plist at all */
    vt_write_text(cfg, "CPUCount = 4\n");
    r = run_macvm("run", "--dry-run", b, NULL);
    cr_expect_eq(r.status, EX_DATAERR, "exit %d, want 65; stderr: %s", r.status, r.err);
    proc_result_free(&r);
    free(cfg);
    free(b);
}

Test(bundle, missing_auxiliary_storage, .init = vt_init, .fini = t_tmp_fini)
{
    char *b = vt_bundle(t_tmp, "NoAux.bundle", "apple", 4 * VT_GIB);
    char *aux = t_path_join(b, "AuxiliaryStorage");
    cr_assert_eq(unlink(aux), 0);
    struct proc_result r = run_macvm("info", "--json", b, NULL);
    cr_expect_eq(r.status, EX_DATAERR, "exit %d, want 65; stderr: %s", r.status, r.err);
    cr_expect(strstr(r.err, aux) != NULL, "stderr should name %s: %s", aux, r.err);
    const struct plist *j = vt_json(r.out);
    vt_json_null(j, "auxiliary_storage_bytes", r.out);
    vt_json_str(j, "hardware_model.minimum_supported_os", "13.0.0", r.out);
    proc_result_free(&r);

    r = run_macvm("run", "--dry-run", b, NULL);
    vt_expect_refusal(&r, EX_NOINPUT, "AuxiliaryStorage", "run without AuxiliaryStorage");
    proc_result_free(&r);
    free(aux);
    free(b);
}

/* A directory without Disk.img is not a bundle for run; no directory at all neither. */
Test(bundle, run_needs_disk_img, .init = vt_init, .fini = t_tmp_fini)
{
    char *none = t_path_join(t_tmp, "Nothing.bundle");
    struct proc_result n = run_macvm("run", "--dry-run", none, NULL);
    vt_expect_refusal(&n, EX_NOINPUT, none, "run of a missing bundle");
    cr_expect(!vt_exists(none), "run must not create %s", none);
    proc_result_free(&n);
    free(none);
    char *b = vt_bundle(t_tmp, "NoDisk.bundle", "apple", 0);
    struct proc_result r = run_macvm("run", "--dry-run", b, NULL);
    vt_expect_refusal(&r, EX_NOINPUT, "Disk.img", "run without Disk.img");
    cr_expect(strstr(r.err, b) != NULL, "stderr should name the bundle: %s", r.err);
    proc_result_free(&r);
    free(b);
}

Test(bundle, info_saved_state_and_recorded_runs, .init = vt_init, .fini = t_tmp_fini)
{
    char *b = vt_bundle(t_tmp, "Runs.bundle", "apple", 4 * VT_GIB);
    char *save = t_path_join(b, "SaveFile.vzvmsave");
    vt_write_text(save, "saved state\n");
    char *logs = t_path_join(b, "logs"), *run1 = t_path_join(logs, "2026-01-02T03-04-05"),
         *run2 = t_path_join(logs, "2026-01-02T03-09-00");
    vt_mkdir(logs);
    vt_mkdir(run1);
    vt_mkdir(run2);
    char *json1 = t_path_join(run1, "run.json");
    vt_write_text(json1, "{\"outcome\":{\"result\":\"error\"}}\n");
    struct proc_result r = run_macvm("info", "--json", b, NULL);
    const struct plist *j = vt_expect_json_ok(&r, "info --json");
    vt_json_bool(j, "saved_state", true, r.out);
    const struct plist *runs = vt_get(j, "runs");
    cr_expect(runs && runs->count == 2, "runs should list 2: %s", r.out);
    vt_json_str(j, "runs.0.name", "2026-01-02T03-04-05", r.out);
    vt_json_str(j, "runs.0.outcome", "error", r.out);
    vt_json_str(j, "runs.1.name", "2026-01-02T03-09-00", r.out);
    vt_json_str(j, "runs.1.outcome", "unrecorded", r.out);
    proc_result_free(&r);
    free(json1);
    free(run1);
    free(run2);
    free(logs);
    free(save);
    free(b);
}

/* A disposable run keeps its record in NAME.ephemeral-logs/ beside the
 * bundle: info lists it among the runs, in order, marked as such in the text
 * and in the JSON alike. */
Test(bundle, info_marks_disposable_runs, .init = vt_init, .fini = t_tmp_fini)
{
    char *b = vt_bundle(t_tmp, "Runs.bundle", "apple", 4 * VT_GIB);
    char *logs = t_path_join(b, "logs"), *run = t_path_join(logs, "2026-01-02T03-04-05");
    char *eph_logs = t_path_join(t_tmp, "Runs.bundle.ephemeral-logs");
    char *eph_run = t_path_join(eph_logs, "2026-01-02T03-06-00");
    vt_mkdir(logs);
    vt_mkdir(run);
    vt_mkdir(eph_logs);
    vt_mkdir(eph_run);
    struct proc_result r = run_macvm("info", "--json", b, NULL);
    const struct plist *j = vt_expect_json_ok(&r, "info --json");
    vt_json_str(j, "runs.0.name", "2026-01-02T03-04-05", r.out);
    vt_json_bool(j, "runs.0.ephemeral", false, r.out);
    vt_json_str(j, "runs.1.name", "2026-01-02T03-06-00", r.out);
    vt_json_bool(j, "runs.1.ephemeral", true, r.out);
    vt_json_str(j, "runs.1.folder", eph_run, r.out);
    proc_result_free(&r);
    r = run_macvm("info", b, NULL);
    cr_expect_eq(r.status, 0, "info: %s", r.err);
    cr_expect(strstr(r.out, "\n  2026-01-02T03-04-05  unrecorded\n  2026-01-02T03-06-00  unrecorded (disposable)\n"),
              "the text should list both runs, the second marked disposable: %s", r.out);
    proc_result_free(&r);
    free(eph_run);
    free(eph_logs);
    free(run);
    free(logs);
    free(b);
}

/* The files a run uses are Apple's sample's names in the bundle. */
Test(bundle, run_uses_apple_file_names, .init = vt_init, .fini = t_tmp_fini)
{
    char *b = vt_bundle(t_tmp, "VM.bundle", "apple", 4 * VT_GIB);
    struct proc_result r = run_macvm("run", "--dry-run", "--json", b, NULL);
    const struct plist *j = vt_expect_json_ok(&r, "run --dry-run --json");
    const char *keys[] = {"disk_image", "auxiliary_storage", "hardware_model", "machine_identifier", "save_file"};
    const char *names[] = {"Disk.img", "AuxiliaryStorage", "HardwareModel", "MachineIdentifier", "SaveFile.vzvmsave"};
    for (int i = 0; i < 5; i++) {
        char *want = t_path_join(b, names[i]);
        vt_json_str(j, keys[i], want, r.out);
        free(want);
    }
    vt_json_str(j, "bundle", b, r.out);
    vt_json_str(j, "source_bundle", b, r.out);
    proc_result_free(&r);
    free(b);
}

/* No Config.plist: Apple's defaults, CPUs within the fake host's limits (1..8). */
Test(bundle, missing_config_is_apple_defaults_fake_host, .init = vt_init, .fini = t_tmp_fini)
{
    char *b = vt_bundle(t_tmp, "VM.bundle", "apple", 4 * VT_GIB);
    struct proc_result r = run_fake("run", "--dry-run", "--json", b, NULL);
    const struct plist *j = vt_expect_json_ok(&r, "run --dry-run --json");
    vt_json_uint(j, "cpu_count", VT_FAKE_DEFAULT_CPUS, r.out);
    vt_json_uint(j, "memory_bytes", 4 * VT_GIB, r.out);
    vt_json_uint(j, "display.width", 1920, r.out);
    vt_json_uint(j, "display.height", 1200, r.out);
    vt_json_uint(j, "display.pixels_per_inch", 80, r.out);
    vt_json_str(j, "network", "nat", r.out);
    vt_json_null(j, "mac_address", r.out);
    vt_json_str(j, "start_mode", "normal", r.out);
    vt_json_str(j, "ecid", VT_ECID, r.out);
    proc_result_free(&r);
    free(b);
}

/* Without Virtualization (the Linux build, or the fake with no host) the
 * defaults are the same, with no host limits to clamp the CPU count. */
Test(bundle, missing_config_is_apple_defaults_without_virtualization, .init = vt_init, .fini = t_tmp_fini)
{
    char *b = vt_bundle(t_tmp, "VM.bundle", "apple", 4 * VT_GIB);
    for (int i = 0; i < 2; i++) {
        struct proc_result r;
        if (i == 0) {
            r = run_macvm("run", "--dry-run", "--json", b, NULL);
        } else {
            setenv("MACVM_FAKE_HOST", "none", 1);
            r = run_fake("run", "--dry-run", "--json", b, NULL);
        }
        const char *what = i == 0 ? "./macvm" : "macvm-fake with MACVM_FAKE_HOST=none";
        const struct plist *j = vt_expect_json_ok(&r, what);
        vt_json_uint(j, "cpu_count", vt_default_cpus(0, 0), r.out);
        vt_json_uint(j, "memory_bytes", 4 * VT_GIB, r.out);
        vt_json_uint(j, "display.width", 1920, r.out);
        vt_json_uint(j, "display.height", 1200, r.out);
        vt_json_uint(j, "display.pixels_per_inch", 80, r.out);
        vt_json_str(j, "network", "nat", r.out);
        vt_json_null(j, "mac_address", r.out);
        proc_result_free(&r);
    }
    free(b);
}

Test(bundle, config_plist_values_used_by_run, .init = vt_init, .fini = t_tmp_fini)
{
    char *b = vt_bundle(t_tmp, "Configured.bundle", "configured", 4 * VT_GIB);
    struct proc_result r = run_macvm("run", "--dry-run", "--json", b, NULL);
    const struct plist *j = vt_expect_json_ok(&r, "run --dry-run --json");
    vt_json_uint(j, "cpu_count", 4, r.out);
    vt_json_uint(j, "memory_bytes", 8 * VT_GIB, r.out);
    vt_json_uint(j, "display.width", 2560, r.out);
    vt_json_uint(j, "display.height", 1600, r.out);
    vt_json_uint(j, "display.pixels_per_inch", 144, r.out);
    vt_json_str(j, "mac_address", "8a:2c:11:de:ad:01", r.out);
    vt_json_str(j, "network", "nat", r.out);
    proc_result_free(&r);
    /* options override Config.plist for one run */
    r = run_macvm("run", "--dry-run", "--json", "--cpus", "2", "--memory", "3G", b, NULL);
    j = vt_expect_json_ok(&r, "run --dry-run --json --cpus 2 --memory 3G");
    vt_json_uint(j, "cpu_count", 2, r.out);
    vt_json_uint(j, "memory_bytes", 3 * VT_GIB, r.out);
    vt_json_uint(j, "display.width", 2560, r.out);
    proc_result_free(&r);
    free(b);
}

/* A Config.plist value macvm cannot use: info and run name the file and the key (65). */
Test(bundle, bad_config_values_name_the_key, .init = vt_init, .fini = t_tmp_fini)
{
    char *b = vt_bundle(t_tmp, "VM.bundle", "apple", 4 * VT_GIB);
    char *cfg = t_path_join(b, "Config.plist");
    struct {
        const char *body, *key;
    } bad[] = {
        {"<key>CPUCount</key><integer>0</integer>", "CPUCount"},
        {"<key>CPUCount</key><integer>-2</integer>", "CPUCount"},
        {"<key>MemorySize</key><integer>1000</integer>", "MemorySize"},
        {"<key>MemorySize</key><string>8G</string>", "MemorySize"},
        {"<key>DisplayWidth</key><integer>1920</integer>", "DisplayWidth"},
        {"<key>DisplayWidth</key><integer>0</integer><key>DisplayHeight</key><integer>1200</integer>"
         "<key>DisplayPixelsPerInch</key><integer>80</integer>", "DisplayWidth"},
        {"<key>MACAddress</key><string>8a:2c:11:de:ad</string>", "MACAddress"},
        {"<key>MACAddress</key><string>zz:2c:11:de:ad:01</string>", "MACAddress"},
        {"<key>MACAddress</key><string>ff:ff:ff:ff:ff:ff</string>", "MACAddress"},
        {"<key>MACAddress</key><string>8b:2c:11:de:ad:01</string>", "MACAddress"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        char text[1024];
        snprintf(text, sizeof text, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<plist version=\"1.0\">\n<dict>%s</dict>\n"
                                    "</plist>\n", bad[i].body);
        vt_write_text(cfg, text);
        struct proc_result r = run_macvm("run", "--dry-run", b, NULL);
        vt_expect_refusal(&r, EX_DATAERR, bad[i].key, bad[i].body);
        cr_expect(strstr(r.err, "Config.plist") != NULL, "%s: stderr should name Config.plist: %s", bad[i].body, r.err);
        proc_result_free(&r);
        r = run_macvm("info", "--json", b, NULL);
        cr_expect_eq(r.status, EX_DATAERR, "%s: info exit %d, want 65; stderr: %s", bad[i].body, r.status, r.err);
        cr_expect(strstr(r.err, "Config.plist") && strstr(r.err, bad[i].key), "%s: info stderr: %s", bad[i].body, r.err);
        proc_result_free(&r);
    }
    free(cfg);
    free(b);
}

/* A bundle path directly under / is named as given ("/X", not "//X"). */
Test(bundle, missing_bundle_under_the_root_is_named_as_given)
{
    char path[64], want[128];
    snprintf(path, sizeof path, "/macvm-test-no-such-bundle-%ld", (long)getpid());
    snprintf(want, sizeof want, "macvm: %s: ", path);
    struct proc_result r = run_macvm("info", "--json", path, NULL);
    vt_expect_refusal(&r, EX_NOINPUT, NULL, "info of a missing bundle under /");
    cr_expect(strncmp(r.err, want, strlen(want)) == 0, "stderr should start \"%s\": %s", want, r.err);
    proc_result_free(&r);
    r = run_macvm("run", "--dry-run", path, NULL);
    vt_expect_refusal(&r, EX_NOINPUT, NULL, "run of a missing bundle under /");
    cr_expect(strncmp(r.err, want, strlen(want)) == 0, "stderr should start \"%s\": %s", want, r.err);
    proc_result_free(&r);
    cr_expect(!vt_exists(path), "%s must not be created", path);
}

/* A bundle whose macOS needs more than Apple's defaults: info and the dry
 * run show the raised values and say why, and JSON carries the real memory. */
Test(bundle, defaults_raised_to_what_the_installed_macos_needs, .init = vt_init, .fini = t_tmp_fini)
{
    char *b = vt_bundle(t_tmp, "Beta.bundle", "apple", 1ull << 30);
    char *config = t_path_join(b, "Config.plist");
    const char *doc = "<plist><dict><key>InstalledProductVersion</key><string>15.0</string>"
                      "<key>InstalledBuild</key><string>24A335</string><key>InstalledFromIPSW</key><string>x.ipsw</string>"
                      "<key>InstallCompleted</key><true/><key>InstalledMinCPUCount</key><integer>4</integer>"
                      "<key>InstalledMinMemorySize</key><integer>8589934592</integer></dict></plist>";
    cr_assert_eq(t_write_file(config, doc, strlen(doc)), 0);
    struct proc_result r = run_macvm("info", b, NULL);
    cr_expect_eq(r.status, 0, "%s", r.err);
    cr_expect(strstr(r.out, "Memory:             8 GiB (default, raised to what the installed macOS needs)"), "%s", r.out);
    proc_result_free(&r);
    r = run_macvm("info", "--json", b, NULL);
    cr_expect(strstr(r.out, "\"memory_bytes\":8589934592"), "%s", r.out);
    proc_result_free(&r);
    r = run_macvm("run", "--dry-run", b, NULL);
    cr_expect(strstr(r.out, "memory              8 GiB (default, raised"), "%s", r.out);
    cr_expect(strstr(r.out, "CPUs                4 (default: host cores - 1, raised") || sysconf(_SC_NPROCESSORS_ONLN) > 4,
              "%s", r.out);
    proc_result_free(&r);
    r = run_macvm("run", "--dry-run", "--memory", "12G", b, NULL);
    cr_expect(strstr(r.out, "memory              12 GiB\n"), "a value given on the command line has no note: %s", r.out);
    proc_result_free(&r);
    free(config);
    free(b);
}

/* A disposable run that was killed leaves its clone beside the bundle: info
 * names it with the command that removes it, unless a VM runs from it now. */
Test(bundle, info_names_leftover_disposable_clones, .init = vt_init, .fini = t_tmp_fini)
{
    char *b = vt_bundle(t_tmp, "VM.bundle", "configured", 1ull << 30);
    char *left = t_path_join(t_tmp, ".VM.bundle-ephemeral-Ab12Cd");
    char *busy = t_path_join(t_tmp, ".VM.bundle-ephemeral-Zz99Yy");
    char *other = t_path_join(t_tmp, ".Other.bundle-ephemeral-Ab12Cd");
    vt_mkdir(left);
    vt_mkdir(other);
    vt_mkdir(busy);
    char *busy_bundle = vt_bundle(busy, "VM.bundle", "configured", 0);
    char *aux = t_path_join(busy_bundle, "AuxiliaryStorage");
    int fd = open(aux, O_RDONLY);
    cr_assert(fd >= 0 && flock(fd, LOCK_EX) == 0, "lock %s", aux);
    struct proc_result r = run_macvm("info", b, NULL);
    cr_expect_eq(r.status, 0, "%s", r.err);
    char want[512];
    snprintf(want, sizeof want, "Leftover copy:      %s (a disposable run was killed; remove it: rm -r %s)", left, left);
    cr_expect(strstr(r.out, want), "%s", r.out);
    cr_expect_not(strstr(r.out, busy), "a clone a VM runs from is no leftover: %s", r.out);
    cr_expect_not(strstr(r.out, other), "another bundle's clone is not this one's: %s", r.out);
    proc_result_free(&r);
    close(fd);
    free(aux);
    free(busy_bundle);
    free(left);
    free(busy);
    free(other);
    free(b);
}

/* A Config.plist that is no file to read (a FIFO, a folder, a link to
 * nothing): named with what it is and told to be moved aside, never sent to
 * plutil -lint, and never waited on. */
Test(bundle, a_config_plist_that_is_no_file_is_named, .init = vt_init, .fini = t_tmp_fini, .timeout = 10)
{
    const char *kinds[] = {"a FIFO", "a folder", "cannot open"};
    for (int i = 0; i < 3; i++) {
        char name[32];
        snprintf(name, sizeof name, "VM%d.bundle", i);
        char *b = vt_bundle(t_tmp, name, "configured", VT_GIB), *config = t_path_join(b, "Config.plist");
        cr_assert_eq(unlink(config), 0);
        cr_assert_eq(i == 0 ? mkfifo(config, 0644) : i == 1 ? mkdir(config, 0755) : symlink("nowhere", config), 0);
        struct proc_result r = run_fake("run", "--dry-run", b, NULL);
        vt_expect_refusal(&r, i < 2 ? EX_DATAERR : EX_NOINPUT, kinds[i], name);   /* damaged, or missing */
        cr_expect(strstr(r.err, "move it aside") && !strstr(r.err, "plutil"), "%s: %s", kinds[i], r.err);
        proc_result_free(&r);
        free(config);
        free(b);
    }
}
