/*
 * curlfloor.c: the resident size of a process that does nothing but load
 * libcurl and call curl_global_init(): the floor under any libcurl daemon,
 * printed next to connectorfs's own RSS by `make bench`.
 */
#include <stdio.h>
#include <string.h>

#include <curl/curl.h>

int
main(void)
{
	char line[256];
	FILE *f;

	curl_global_init(CURL_GLOBAL_DEFAULT);
	f = fopen("/proc/self/status", "r");
	if (f == NULL)
		return 1;
	while (fgets(line, sizeof(line), f) != NULL)
		if (strncmp(line, "VmRSS:", 6) == 0 || strncmp(line, "RssAnon:", 8) == 0)
			fputs(line, stdout);
	fclose(f);
	curl_global_cleanup();
	return 0;
}
