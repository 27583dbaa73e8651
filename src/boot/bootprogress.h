/* The engine's JSON progress lines, turned into a console line each and a
 * fresh /run/rootcrypt/status.json, through a FILE* the engine writes to
 * (so the engine knows nothing about boot). */
#pragma once
#include <stdio.h>

#include "bootstatus.h"

struct bootprogress {
	struct bootstatus st;   /* device/layout filled by the caller */
	const char *status_dir;
	FILE *console;
	char line[512];
	size_t len;
};

/* FILE* for engine_opts.progress (with json = true); fclose() it after. */
FILE *bootprogress_open(struct bootprogress *bp);
/* Handles one complete JSON progress line (pure apart from the writes). */
void bootprogress_line(struct bootprogress *bp, const char *line);
