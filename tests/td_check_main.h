/* SPDX-License-Identifier: MIT */
/*
 * td_check_main.h - the main() every Check suite shares: run the suite (each test forked, with
 * Check's timeout), print the summary, exit 1 when a test failed. Included just above main():
 *
 *   #include "td_check_main.h"
 *
 *   int main(void)
 *   {
 *   	return td_check_run(suite());
 *   }
 */
#ifndef TD_CHECK_MAIN_H
#define TD_CHECK_MAIN_H

#include <check.h>
#include <stdlib.h>

/* Runs s and frees it; EXIT_FAILURE when any test failed. */
static inline int td_check_run(Suite *s)
{
	SRunner *sr = srunner_create(s);
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

#endif /* TD_CHECK_MAIN_H */
