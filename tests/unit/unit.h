/*
 * unit.h: the Check suites of lib/ and the few helpers they share (log
 * capture, building connections from a body, making JWTs). Each suite lives
 * in tests/unit/test_<module>.c; main.c runs them all in one SRunner.
 */
#ifndef CFS_UNIT_H
#define CFS_UNIT_H

#include <stddef.h>

#include <check.h>

#include "connection.h"
#include "log.h"

Suite *names_suite(void);
Suite *err_suite(void);
Suite *base44_suite(void);
Suite *decode_suite(void);
Suite *connection_suite(void);
Suite *config_suite(void);
Suite *secret_suite(void);
Suite *buf_suite(void);
Suite *cache_suite(void);
Suite *status_suite(void);
Suite *tree_suite(void);
Suite *table_suite(void);
Suite *redact_suite(void);
Suite *fuzz_regressions_suite(void);
Suite *pack_suite(void);
Suite *handover_suite(void);
Suite *tree_state_suite(void);
Suite *envfile_suite(void);
Suite *watch_suite(void);
Suite *dac_suite(void);

/*
 * Log capture. Every test starts with lines captured, not printed (main.c
 * installs the sink before the runner forks). unit_log_reset() forgets what
 * was captured so far; the lines are kept in order, up to UNIT_LOG_LINES.
 */
#define UNIT_LOG_LINES	64
#define UNIT_LOG_WIDTH	1024
void unit_log_install(void);
void unit_log_reset(void);
int unit_log_count(void);
/* Line i (0-based) as captured, or "" when there is no such line. */
const char *unit_log_line(int i);
/* 1 when any captured line contains needle. */
int unit_log_contains(const char *needle);

/*
 * A connection decoded from a 200 body for type, as base44_fetch would
 * build it; the test fails when the body does not decode.
 */
struct connection *unit_connection(const char *type, const char *body);

/*
 * A JWT "header.payload.sig" whose payload is claims_json, base64url
 * encoded without padding. Returns the length, or -1 when out is too small.
 */
int unit_jwt(char *out, size_t outsz, const char *claims_json);

#endif
