/*
 * redact.c: see redact.h. The search resumes after each mark, so a mark is
 * never searched again, and whatever is cut is cut at a secret's start,
 * never inside one.
 */
#include <string.h>

#include "redact.h"

/* A secret cut off where the message was cut (its head is all there is). */
#define REDACT_TAIL_MIN	8

/*
 * A message cut to fit a buffer can end inside a secret, and then the
 * search above cannot find it whole: cut a trailing head of the secret
 * (REDACT_TAIL_MIN bytes or more) off the message.
 */
static void
redact_tail(const char *secret, size_t n, char *msg)
{
	size_t len = strlen(msg), k;

	for (k = n > 0 ? n - 1 : 0; k >= REDACT_TAIL_MIN; k--) {
		if (k <= len && memcmp(msg + len - k, secret, k) == 0) {
			msg[len - k] = '\0';
			return;
		}
	}
}

void
redact(const char *secret, char *msg, size_t msgsz)
{
	static const char mark[] = "[redacted]";
	const size_t marklen = sizeof(mark) - 1;
	size_t n = strlen(secret), len = strlen(msg);
	char *at, *from = msg;

	while (n > 0 && (at = strstr(from, secret)) != NULL) {
		size_t pre = (size_t)(at - msg), tail = len - pre - n;

		if (pre + marklen >= msgsz) {
			*at = '\0';	/* no room for the mark: cut the message here */
			break;
		}
		if (tail > msgsz - 1 - pre - marklen)
			tail = msgsz - 1 - pre - marklen;
		memmove(at + marklen, at + n, tail);
		memcpy(at, mark, marklen);
		at[marklen + tail] = '\0';
		len = pre + marklen + tail;
		from = at + marklen;
	}
	redact_tail(secret, n, msg);
}

void
redact_password(const char *password, char *msg, size_t msgsz)
{
	if (strlen(password) >= REDACT_PASSWORD_MIN)
		redact(password, msg, msgsz);
}

/* Where "://" leaves off: a URL's userinfo and host stop at these. */
#define REDACT_URL_END	" \t\r\n'\"<>"

void
redact_userinfo(char *msg, size_t msgsz)
{
	static const char mark[] = "[redacted]";
	const size_t marklen = sizeof(mark) - 1;
	size_t len = strlen(msg);
	char *p = msg, *from, *at, *q, *end;

	while ((p = strstr(p, "://")) != NULL) {
		size_t pre, tail;

		from = p + 3;
		end = from + strcspn(from, REDACT_URL_END);
		at = NULL;
		for (q = from; q < end; q++)
			if (*q == '@')
				at = q;
		if (at == NULL) {
			p = from;
			continue;
		}
		pre = (size_t)(from - msg);
		tail = len - (size_t)(at - msg);	/* from the '@' on */
		if (pre + marklen >= msgsz) {
			*from = '\0';	/* no room for the mark: cut the message here */
			return;
		}
		if (tail > msgsz - 1 - pre - marklen)
			tail = msgsz - 1 - pre - marklen;
		memmove(from + marklen, at, tail);
		memcpy(from, mark, marklen);
		from[marklen + tail] = '\0';
		len = pre + marklen + tail;
		p = from + marklen;
	}
}
