#include "bootprogress.h"

#include <json-c/json.h>
#include <string.h>

static ssize_t cookie_write(void *cookie, const char *buf, size_t size)
{
	struct bootprogress *bp = cookie;

	for (size_t i = 0; i < size; i++) {
		if (buf[i] == '\n') {
			bp->line[bp->len] = '\0';
			bootprogress_line(bp, bp->line);
			bp->len = 0;
		} else if (bp->len < sizeof(bp->line) - 1) {
			bp->line[bp->len++] = buf[i];
		}
	}
	return (ssize_t)size;
}

FILE *bootprogress_open(struct bootprogress *bp)
{
	cookie_io_functions_t io = { .write = cookie_write };
	FILE *f = fopencookie(bp, "w", io);

	if (f)
		setvbuf(f, NULL, _IOLBF, 0);
	return f;
}

void bootprogress_line(struct bootprogress *bp, const char *line)
{
	struct json_object *o = json_tokener_parse(line), *v;
	double pct = 0, mbps = 0;
	long long eta = -1;

	if (!o) {
		/* Not ours to interpret: pass it through. */
		fprintf(bp->console, "rootcrypt: %s\n", line);
		return;
	}
	if (json_object_object_get_ex(o, "bytes_done", &v))
		bp->st.bytes_done = (uint64_t)json_object_get_int64(v);
	if (json_object_object_get_ex(o, "bytes_total", &v))
		bp->st.bytes_total = (uint64_t)json_object_get_int64(v);
	if (json_object_object_get_ex(o, "mb_per_s", &v))
		mbps = json_object_get_double(v);
	if (json_object_object_get_ex(o, "percent", &v))
		pct = json_object_get_double(v);
	if (json_object_object_get_ex(o, "eta_s", &v))
		eta = json_object_get_int64(v);
	json_object_put(o);

	bp->st.mb_per_s = mbps;
	if (bp->status_dir)
		bootstatus_write(bp->status_dir, &bp->st);
	if (eta >= 0)
		fprintf(bp->console,
			"rootcrypt: encrypting %s: %5.1f%%, %.2f of %.2f GiB, %.1f MB/s, ETA %lld:%02lld:%02lld\n",
			bp->st.device ? bp->st.device : "", pct, (double)bp->st.bytes_done / (1 << 30),
			(double)bp->st.bytes_total / (1 << 30), mbps, eta / 3600, eta / 60 % 60, eta % 60);
	else
		fprintf(bp->console, "rootcrypt: encrypting %s: %5.1f%%, %.2f of %.2f GiB\n",
			bp->st.device ? bp->st.device : "", pct, (double)bp->st.bytes_done / (1 << 30),
			(double)bp->st.bytes_total / (1 << 30));
	fflush(bp->console);
}
