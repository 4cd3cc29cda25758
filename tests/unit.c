/* unit.c -- the one test binary: macvm.c and every test file in one translation unit,
 * so tests reach macvm's static functions. */
#define MACVM_TEST 1 /* macvm.c renames its main to macvm_main */
#include "../macvm.c"
#include <criterion/criterion.h>
#include "helpers.c"
#include "test_ipsw.c"
#include "test_plist.c"
#include "test_zip.c"
