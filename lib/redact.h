/*
 * redact.h: cut a secret out of a message before it is logged or shown
 * (the service token, the management key, any cached access token a
 * server echoes back, a proxy password), and the credentials out of any
 * URL a library names in its error text.
 */
#ifndef CFS_REDACT_H
#define CFS_REDACT_H

#include <stddef.h>

/*
 * Replace every occurrence of secret in msg (NUL-terminated, msgsz bytes)
 * with "[redacted]"; when the mark does not fit, the message is cut where
 * the secret began. A message that ends with the first 8 bytes or more of
 * the secret (it was cut inside it) loses them. An empty secret changes
 * nothing.
 */
void redact(const char *secret, char *msg, size_t msgsz);

/*
 * Shortest password redact_password() looks for. A shorter one is found
 * inside ordinary words ("Failed to connect" with the password "o"), and
 * the marks would spell it out; it never reaches a message anyway (libcurl
 * gets it apart from the proxy URL, and the API never sees it).
 */
#define REDACT_PASSWORD_MIN	8

/* redact() for a proxy password: only one of REDACT_PASSWORD_MIN bytes or more. */
void redact_password(const char *password, char *msg, size_t msgsz);

/*
 * Cut the user name and password out of every URL in msg, whoever's they
 * are: "SCHEME://USERINFO@HOST" becomes "SCHEME://[redacted]@HOST". The
 * userinfo runs from "://" to the last '@' before the next space, tab,
 * quote, '<' or '>' (a password may hold '/', '@' or ':'; libcurl quotes
 * the URLs it names in '...'), so a password holding one of those can
 * escape it: redact() by value whatever secret is known. Cut like redact()
 * when the mark does not fit.
 */
void redact_userinfo(char *msg, size_t msgsz);

#endif
