/* unit.c -- the one test binary: macvm.c and every test file in one translation unit,
 * so tests reach macvm's static functions. */
#define MACVM_TEST 1 /* macvm.c renames its main to macvm_main */
#include "../macvm.c"
#include <criterion/criterion.h>
#include "helpers.c"
#include "test_ipsw.c"
#include "test_plist.c"
#include "test_zip.c"
#include "test_logs.c"
#include "test_advice.c"
#include "test_bundle.c"
#include "test_clone.c"
#include "test_run.c"
#include "test_save.c"
#include "test_install.c"
#include "test_inspect.c"
#include "test_feedback.c"
#include "test_doctor.c"
#include "test_commands.c"
#include "test_conformance.c"
#include "test_probe.c"
