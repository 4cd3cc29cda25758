/* test_clone.c -- `macvm clone SRC DST` (run through ./macvm or $MACVM_BIN).
 *
 * Contract under test (issue acceptance item "Clone"):
 *   - DST gets every file of SRC byte for byte (subfolders too), and Disk.img
 *     stays sparse: DST's Disk.img occupies no more blocks than SRC's.
 *   - An existing DST (folder, file or link) is refused with 73 and not touched;
 *     a missing SRC with 66 and nothing created.
 *   - Ctrl-C mid-copy: exit 130 and no DST.  A full disk (RLIMIT_FSIZE: writes
 *     fail with EFBIG): exit 74 and no DST.
 *   - A running VM (AuxiliaryStorage locked): exit 75 and nothing written.
 *   - DST inside SRC: refused up front (64).
 *   - SRC is never written: the same entries, contents and mtimes afterwards.
 * On Linux ext4 or tmpfs there is no copy-on-write, so the sparse copy path runs;
 * on a copy-on-write temp dir the Ctrl-C and full-disk tests skip themselves.
 */
#include "test_vm_common.c"

/* A source bundle with all kinds of content: the configured fixture, a 16 GiB
 * sparse Disk.img with real data at a few offsets (unaligned ones too), a
 * saved state and a logs/ folder with a run. */
static char *vt_clone_source(const char *dir)
{
    char *src = vt_bundle(dir, "Source.bundle", "configured", 16 * VT_GIB);
    char *disk = t_path_join(src, "Disk.img");
    vt_fill(disk, 0, 64 * VT_KIB, 1);
    vt_fill(disk, 1 * VT_GIB + 12288, 1 * VT_MIB + 123, 2);
    vt_fill(disk, 8 * VT_GIB - 4096, 8192, 3);
    vt_fill(disk, 16 * VT_GIB - 4096, 4096, 4);
    cr_assert_eq(vt_size(disk), 16 * VT_GIB);
    char *save = t_path_join(src, "SaveFile.vzvmsave");
    vt_fill(save, 0, 100 * VT_KIB + 7, 5);
    char *logs = t_path_join(src, "logs"), *run = t_path_join(logs, "2026-01-02T03-04-05");
    vt_mkdir(logs);
    vt_mkdir(run);
    char *json = t_path_join(run, "run.json"), *log = t_path_join(run, "vz.ndjson");
    vt_write_text(json, "{\"outcome\":{\"result\":\"guest-stopped\"}}\n");
    vt_write_text(log, "{\"eventMessage\":\"one\"}\n{\"eventMessage\":\"two\"}\n");
    free(json);
    free(log);
    free(run);
    free(logs);
    free(save);
    free(disk);
    return src;
}

Test(clone, copies_every_file_and_keeps_disk_sparse, .init = vt_init, .fini = t_tmp_fini, .timeout = 120)
{
    char *src = vt_clone_source(t_tmp);
    char *dst = t_path_join(t_tmp, "Copy.bundle");
    char *before = vt_snapshot(src);
    struct proc_result r = run_macvm("clone", src, dst, NULL);
    cr_assert_eq(r.status, 0, "exit %d; stderr: %s", r.status, r.err);
    cr_expect_eq(r.err_len, 0, "stderr should be empty: %s", r.err);
    cr_expect_eq(count_lines(r.out), 1, "one line on stdout: %s", r.out);
    char want[4096];
    snprintf(want, sizeof want, "%s -> %s", src, dst);
    cr_expect(strstr(r.out, want) != NULL, "stdout should say \"%s\": %s", want, r.out);
    proc_result_free(&r);

    vt_expect_copy(src, dst);
    char *sd = t_path_join(src, "Disk.img"), *dd = t_path_join(dst, "Disk.img");
    cr_expect_eq(vt_size(dd), 16 * VT_GIB, "DST's Disk.img has the logical size of SRC's");
    cr_expect(vt_allocated(dd) <= vt_allocated(sd), "DST's Disk.img occupies %llu bytes, more than SRC's %llu",
              (unsigned long long)vt_allocated(dd), (unsigned long long)vt_allocated(sd));
    char why[256] = "";
    cr_expect(vt_same_content(sd, dd, why, sizeof why), "Disk.img content: %s", why);
    vt_expect_unchanged(src, before, "clone");

    /* the copy is a bundle macvm reads as the original */
    r = run_macvm("info", "--json", dst, NULL);
    const struct plist *j = vt_expect_json_ok(&r, "info --json of the copy");
    vt_json_str(j, "machine_identifier.ecid", VT_ECID, r.out);
    vt_json_uint(j, "config.cpu_count", 4, r.out);
    vt_json_bool(j, "saved_state", true, r.out);
    vt_json_str(j, "runs.0.outcome", "guest-stopped", r.out);
    proc_result_free(&r);
    free(sd);
    free(dd);
    free(dst);
    free(src);
}

Test(clone, refuses_an_existing_dst_without_touching_it, .init = vt_init, .fini = t_tmp_fini)
{
    char *src = vt_bundle(t_tmp, "Source.bundle", "apple", 4 * VT_GIB);
    char *src_before = vt_snapshot(src);

    /* a folder with something in it */
    char *dst = t_path_join(t_tmp, "Existing.bundle");
    vt_mkdir(dst);
    char *keep = t_path_join(dst, "keep.txt");
    vt_write_text(keep, "precious\n");
    char *before = vt_snapshot(dst);
    struct proc_result r = run_macvm("clone", src, dst, NULL);
    vt_expect_refusal(&r, EX_CANTCREAT, dst, "existing folder");
    proc_result_free(&r);
    vt_expect_unchanged(dst, before, "clone onto an existing folder");

    /* an empty folder is still an existing path */
    char *empty = t_path_join(t_tmp, "Empty");
    vt_mkdir(empty);
    before = vt_snapshot(empty);
    r = run_macvm("clone", src, empty, NULL);
    vt_expect_refusal(&r, EX_CANTCREAT, empty, "existing empty folder");
    proc_result_free(&r);
    vt_expect_unchanged(empty, before, "clone onto an empty folder");

    /* a regular file */
    char *file = t_path_join(t_tmp, "file.bundle");
    vt_write_text(file, "a file\n");
    before = vt_snapshot(file);
    r = run_macvm("clone", src, file, NULL);
    vt_expect_refusal(&r, EX_CANTCREAT, file, "existing file");
    proc_result_free(&r);
    vt_expect_unchanged(file, before, "clone onto a file");

    /* a dangling symbolic link */
    char *link = t_path_join(t_tmp, "link.bundle");
    cr_assert_eq(symlink("nowhere", link), 0);
    r = run_macvm("clone", src, link, NULL);
    vt_expect_refusal(&r, EX_CANTCREAT, link, "dangling link");
    proc_result_free(&r);
    char *nowhere = t_path_join(t_tmp, "nowhere");
    cr_expect(!vt_exists(nowhere), "clone followed the link and created %s", nowhere);
    struct stat st;
    cr_expect(lstat(link, &st) == 0 && S_ISLNK(st.st_mode), "the link should stay a link");

    vt_expect_unchanged(src, src_before, "refused clones");
    free(nowhere);
    free(link);
    free(file);
    free(empty);
    free(keep);
    free(dst);
    free(src);
}

Test(clone, refuses_a_missing_source, .init = vt_init, .fini = t_tmp_fini)
{
    char *src = t_path_join(t_tmp, "Nothing.bundle"), *dst = t_path_join(t_tmp, "Copy.bundle");
    struct proc_result r = run_macvm("clone", src, dst, NULL);
    vt_expect_refusal(&r, EX_NOINPUT, src, "missing source");
    cr_expect_eq(r.out_len, 0, "stdout should be empty: %s", r.out);
    cr_expect(!vt_exists(dst), "%s must not be created", dst);
    proc_result_free(&r);

    /* a folder without Disk.img is not a bundle */
    char *half = vt_bundle(t_tmp, "Half.bundle", "apple", 0);
    r = run_macvm("clone", half, dst, NULL);
    vt_expect_refusal(&r, EX_NOINPUT, "Disk.img", "source without Disk.img");
    cr_expect(!vt_exists(dst), "%s must not be created", dst);
    proc_result_free(&r);
    free(half);
    free(dst);
    free(src);
}

Test(clone, needs_a_source_and_a_destination, .init = vt_init, .fini = t_tmp_fini)
{
    char *src = vt_bundle(t_tmp, "Source.bundle", "apple", 4 * VT_GIB);
    struct proc_result r = run_macvm("clone", src, NULL);
    vt_expect_refusal(&r, EX_USAGE, "clone", "one argument");
    proc_result_free(&r);
    cr_expect_eq(vt_count_entries(t_tmp), 1, "nothing may be created next to the source");
    free(src);
}

/* Ctrl-C while Disk.img is copied: exit 130, the partial DST removed, SRC
 * untouched.  The copy must last long enough to be interrupted: a few hundred
 * MiB of real data, doubled while the copy wins the race. */
Test(clone, interrupted_removes_the_partial_copy, .init = vt_init, .fini = t_tmp_fini, .timeout = 300)
{
    VT_SKIP_ON_COPY_ON_WRITE();
    char *src = vt_bundle(t_tmp, "Source.bundle", "configured", 0);
    char *disk = t_path_join(src, "Disk.img");
    char *out = t_path_join(t_tmp, "out.txt"), *err = t_path_join(t_tmp, "err.txt");
    const char *bin = t_env_or("MACVM_BIN", "./macvm");
    uint64_t data = 256 * VT_MIB;
    for (int attempt = 0; attempt < 4; attempt++, data *= 2) {
        vt_sparse(disk, 8 * VT_GIB);
        vt_fill(disk, 0, data, (unsigned)attempt + 10);
        char *before = vt_snapshot(src);
        char name[64];
        snprintf(name, sizeof name, "Copy-%d.bundle", attempt);
        char *dst = t_path_join(t_tmp, name);
        const char *argv[] = {bin, "clone", src, dst, NULL};
        pid_t pid = vt_spawn(argv, out, err, -1);
        int status;
        bool signaled;
        if (!vt_wait_for_entry(dst, pid, &status, &signaled)) {
            cr_assert_eq(status, 0, "clone failed before it could be interrupted: exit %d", status);
            t_remove_tree(dst);
            free(before);
            free(dst);
            continue;   /* finished first: more data */
        }
        cr_assert_eq(kill(pid, SIGINT), 0);
        status = vt_wait(pid, &signaled);
        if (status == 0) {
            t_remove_tree(dst);
            free(before);
            free(dst);
            continue;   /* finished before the signal arrived: more data */
        }
        size_t n;
        char *errtext = (char *)t_read_file(err, &n);
        cr_expect(!signaled, "macvm was killed by the signal instead of handling it (status %d)", status);
        cr_expect_eq(status, 130, "exit %d, want 130; stderr: %s", status, errtext);
        cr_expect(!vt_exists(dst), "the partial copy %s was left behind", dst);
        cr_expect(strstr(errtext, "interrupted") != NULL, "stderr should say interrupted: %s", errtext);
        cr_expect_eq(count_lines(errtext), 1, "one line on stderr: %s", errtext);
        vt_expect_unchanged(src, before, "interrupted clone");
        cr_expect_eq(vt_count_entries(t_tmp), 3, "only Source.bundle and the output files should be left");
        free(errtext);
        free(dst);
        free(out);
        free(err);
        free(disk);
        free(src);
        return;
    }
    cr_assert_fail("the copy of %llu MiB always finished before SIGINT arrived", (unsigned long long)(data >> 20));
}

/* Runs `macvm clone SRC DST` with RLIMIT_FSIZE set to limit: writes beyond it
 * fail with EFBIG as on a full disk.  Expects 74, no DST, SRC untouched. */
static void vt_clone_disk_full(const char *src, long long limit)
{
    char *dst = t_path_join(t_tmp, "Copy.bundle");
    char *out = t_path_join(t_tmp, "out.txt"), *err = t_path_join(t_tmp, "err.txt");
    char *before = vt_snapshot(src);
    const char *argv[] = {t_env_or("MACVM_BIN", "./macvm"), "clone", src, dst, NULL};
    bool signaled;
    int status = vt_wait(vt_spawn(argv, out, err, limit), &signaled);
    size_t n;
    char *errtext = (char *)t_read_file(err, &n);
    cr_expect(!signaled, "macvm was killed (status %d: SIGXFSZ?); stderr: %s", status, errtext);
    cr_expect_eq(status, EX_IOERR, "exit %d, want 74; stderr: %s", status, errtext);
    cr_expect(!vt_exists(dst), "the partial copy %s was left behind", dst);
    cr_expect_eq(count_lines(errtext), 1, "one line on stderr: %s", errtext);
    cr_expect(strstr(errtext, "Disk.img") != NULL, "stderr should name Disk.img: %s", errtext);
    vt_expect_unchanged(src, before, "clone onto a full disk");
    free(errtext);
    free(out);
    free(err);
    free(dst);
}

Test(clone, disk_full_while_writing_data, .init = vt_init, .fini = t_tmp_fini, .timeout = 60)
{
    VT_SKIP_ON_COPY_ON_WRITE();
    char *src = vt_bundle(t_tmp, "Source.bundle", "configured", 1 * VT_GIB);
    char *disk = t_path_join(src, "Disk.img");
    vt_fill(disk, 0, 4 * VT_MIB, 1);
    vt_fill(disk, 512 * VT_MIB, 1 * VT_MIB, 2);
    vt_clone_disk_full(src, 2 * VT_MIB);
    free(disk);
    free(src);
}

Test(clone, disk_full_when_setting_the_size, .init = vt_init, .fini = t_tmp_fini, .timeout = 60)
{
    VT_SKIP_ON_COPY_ON_WRITE();
    /* the data fits under the limit; the sparse tail does not */
    char *src = vt_bundle(t_tmp, "Source.bundle", "configured", 1 * VT_GIB);
    char *disk = t_path_join(src, "Disk.img");
    vt_fill(disk, 0, 256 * VT_KIB, 1);
    vt_clone_disk_full(src, 1 * VT_MIB);
    free(disk);
    free(src);
}

/* A running VM holds a lock on AuxiliaryStorage: the copy would not be consistent. */
static void vt_clone_locked(int how)
{
    char *src = vt_bundle(t_tmp, "Source.bundle", "apple", 4 * VT_GIB);
    char *aux = t_path_join(src, "AuxiliaryStorage"), *dst = t_path_join(t_tmp, "Copy.bundle");
    char *before = vt_snapshot(src);
    int fd = open(aux, O_RDWR);
    cr_assert(fd >= 0);
    if (how == 0) {
        cr_assert_eq(flock(fd, LOCK_EX | LOCK_NB), 0, "flock: %s", strerror(errno));
    } else {
        struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET};
        cr_assert_eq(fcntl(fd, F_SETLK, &fl), 0, "fcntl lock: %s", strerror(errno));
    }
    struct proc_result r = run_macvm("clone", src, dst, NULL);
    vt_expect_refusal(&r, EX_TEMPFAIL, src, how == 0 ? "flock" : "fcntl lock");
    cr_expect(strstr(r.err, "running") != NULL, "stderr should say the VM is running: %s", r.err);
    cr_expect(!vt_exists(dst), "%s must not be created", dst);
    proc_result_free(&r);
    close(fd);
    vt_expect_unchanged(src, before, "clone of a running VM");
    free(dst);
    free(aux);
    free(src);
}

Test(clone, refuses_a_running_vm_flock, .init = vt_init, .fini = t_tmp_fini)
{
    vt_clone_locked(0);
}

Test(clone, refuses_a_running_vm_fcntl_lock, .init = vt_init, .fini = t_tmp_fini)
{
    vt_clone_locked(1);
}

/* `macvm clone VM.bundle VM.bundle/backup`: a copy inside the source would
 * copy itself over and over.  It is refused (64) up front, and SRC never written. */
Test(clone, into_its_own_source_is_refused_without_writing_it, .init = vt_init, .fini = t_tmp_fini,
     .timeout = 60)
{
    char *src = vt_bundle(t_tmp, "Source.bundle", "apple", 1 * VT_GIB);
    char *dst = t_path_join(src, "Backup.bundle");
    char *before = vt_snapshot(src);
    struct proc_result r = run_macvm("clone", src, dst, NULL);
    vt_expect_refusal(&r, EX_USAGE, dst, "clone into its own source");
    cr_expect(!vt_exists(dst), "%s was left behind", dst);
    proc_result_free(&r);
    /* the same through another spelling of the source */
    char *dotted = t_path_join(src, "."), *dst2 = t_path_join(src, "logs-copy");
    r = run_macvm("clone", dotted, dst2, NULL);
    vt_expect_refusal(&r, EX_USAGE, dst2, "clone of SRC/. into SRC/logs-copy");
    cr_expect(!vt_exists(dst2), "%s was left behind", dst2);
    proc_result_free(&r);
    free(dst2);
    free(dotted);
    vt_expect_unchanged(src, before, "clone into its own source");
    free(dst);
    free(src);
}
