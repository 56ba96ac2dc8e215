/*
 * redact.h: cut a secret out of a message before it is logged or shown
 * (the service token, the management key, any cached access token a
 * server echoes back).
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

#endif
