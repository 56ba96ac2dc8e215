/*
 * main.c: one SRunner over every lib/ suite. Exits non-zero when any test
 * fails, so `make check-unit` fails with it. Log lines are captured by a
 * sink (unit.h) rather than printed, so Check's report stays readable.
 */
#include <stdlib.h>

#include "http.h"
#include "unit.h"

int
main(void)
{
	SRunner *sr;
	int failed;

	unit_log_install();
	/* libcurl's global init must precede any thread (base44 fetch tests). */
	if (http_global_init() != CFS_OK)
		return EXIT_FAILURE;
	sr = srunner_create(names_suite());
	srunner_add_suite(sr, err_suite());
	srunner_add_suite(sr, secret_suite());
	srunner_add_suite(sr, buf_suite());
	srunner_add_suite(sr, base44_suite());
	srunner_add_suite(sr, decode_suite());
	srunner_add_suite(sr, connection_suite());
	srunner_add_suite(sr, config_suite());
	srunner_add_suite(sr, cache_suite());
	srunner_add_suite(sr, status_suite());
	srunner_add_suite(sr, tree_suite());
	srunner_add_suite(sr, table_suite());
	srunner_add_suite(sr, redact_suite());
	srunner_add_suite(sr, fuzz_regressions_suite());
	srunner_add_suite(sr, pack_suite());
	srunner_add_suite(sr, handover_suite());
	srunner_add_suite(sr, tree_state_suite());
	srunner_add_suite(sr, envfile_suite());
	srunner_add_suite(sr, watch_suite());
	srunner_add_suite(sr, dac_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	http_global_cleanup();
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
