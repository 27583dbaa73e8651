/* Reader -> encryptors -> writer over a ring of slots; see engine_pipe.h. */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "engine_pipe.h"
#include "engine_record.h"
#include "log.h"

enum slot_state { SLOT_FREE, SLOT_READ, SLOT_CRYPTING, SLOT_DONE };

struct slot {
	struct engine_pipe_slot pub;
	uint64_t idx;
	enum slot_state state;
};

struct engine_pipe {
	struct engine_plan plan;
	struct blkdev *src;
	struct engine_cipher *xts;
	uint32_t sector_size;
	bool digests;
	const uint8_t *head;
	uint64_t head_len;
	uint64_t nunits;
	unsigned nslots, nthreads;
	struct slot *slots;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	uint64_t next_crypt;	/* lowest unit index not yet taken by an encryptor */
	int err;
	bool stop;
	pthread_t reader;
	pthread_t *workers;
	unsigned started;
	bool reader_started;
};

uint64_t engine_sector_digest(const void *data, size_t len)
{
	const uint8_t *p = data;
	uint64_t h = 0x243f6a8885a308d3ull ^ len;

	for (size_t i = 0; i + 8 <= len; i += 8) {
		uint64_t w;

		memcpy(&w, p + i, 8);
		h = (h ^ w) * 0x9e3779b97f4a7c15ull;
		h ^= h >> 31;
	}
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdull;
	h ^= h >> 33;
	return h;
}

/* The data cipher is the crypto layer's bulk AES-XTS (it picks the
 * implementation); the engine adds LUKS2's tweak numbering. */
struct engine_cipher {
	struct crypto_xts_bulk *x;
};

int engine_xts(struct engine_cipher *c, bool encrypt, uint64_t plain_off, uint32_t sector_size,
	       const void *in, void *out, size_t len)
{
	int (*fn)(struct crypto_xts_bulk *, uint64_t, size_t, const void *, void *, size_t) =
		encrypt ? crypto_xts_bulk_encrypt : crypto_xts_bulk_decrypt;

	if (len % sector_size || sector_size % 512)
		return -EINVAL;
	if (sector_size == 512)
		return fn(c->x, plain_off / 512, 512, in, out, len);
	for (size_t o = 0; o < len; o += sector_size) {
		int r = fn(c->x, (plain_off + o) / 512, sector_size, (const uint8_t *)in + o,
			   (uint8_t *)out + o, sector_size);

		if (r < 0)
			return r;
	}
	return 0;
}

int engine_cipher_new(struct engine_cipher **ret, const void *key, size_t key_len)
{
	struct engine_cipher *c = calloc(1, sizeof(*c));
	int r;

	if (!c)
		return log_error(ENOMEM, "out of memory");
	r = crypto_xts_bulk_new(&c->x, key, key_len);
	if (r < 0) {
		free(c);
		return r;
	}
	log_debug("data cipher backend: %s", engine_cipher_name(c));
	*ret = c;
	return 0;
}

const char *engine_cipher_name(const struct engine_cipher *c)
{
	return crypto_xts_bulk_name(c->x);
}

void engine_cipher_free(struct engine_cipher *c)
{
	if (!c)
		return;
	crypto_xts_bulk_free(c->x);
	free(c);
}

static void set_err(struct engine_pipe *p, int err)
{
	pthread_mutex_lock(&p->lock);
	if (!p->err)
		p->err = err;
	p->stop = true;
	pthread_cond_broadcast(&p->cond);
	pthread_mutex_unlock(&p->lock);
}

static void *reader_main(void *arg)
{
	struct engine_pipe *p = arg;

	for (uint64_t i = 0; i < p->nunits; i++) {
		struct slot *s = &p->slots[i % p->nslots];
		int r;

		pthread_mutex_lock(&p->lock);
		while (!p->stop && s->state != SLOT_FREE)
			pthread_cond_wait(&p->cond, &p->lock);
		if (p->stop) {
			pthread_mutex_unlock(&p->lock);
			break;
		}
		s->idx = i;
		engine_plan_unit(&p->plan, i, &s->pub.u);
		pthread_mutex_unlock(&p->lock);

		r = blkdev_read(p->src, s->pub.buf, s->pub.u.len, s->pub.u.src);
		if (r < 0) {
			set_err(p, r);
			break;
		}
		if (p->head && s->pub.u.src < p->head_len) {
			uint64_t n = p->head_len - s->pub.u.src;

			memcpy(s->pub.buf, p->head + s->pub.u.src, n < s->pub.u.len ? n : s->pub.u.len);
		}
		pthread_mutex_lock(&p->lock);
		s->state = SLOT_READ;
		pthread_cond_broadcast(&p->cond);
		pthread_mutex_unlock(&p->lock);
	}
	return NULL;
}

static void *worker_main(void *arg)
{
	struct engine_pipe *p = arg;

	for (;;) {
		struct slot *s;
		uint64_t i;
		int r;

		pthread_mutex_lock(&p->lock);
		for (;;) {
			if (p->stop || p->next_crypt >= p->nunits) {
				pthread_mutex_unlock(&p->lock);
				return NULL;
			}
			s = &p->slots[p->next_crypt % p->nslots];
			if (s->state == SLOT_READ && s->idx == p->next_crypt)
				break;
			pthread_cond_wait(&p->cond, &p->lock);
		}
		i = p->next_crypt++;
		s->state = SLOT_CRYPTING;
		pthread_mutex_unlock(&p->lock);

		if (p->digests)
			for (uint64_t o = 0; o < s->pub.u.len; o += ENGINE_RECORD_PIECE)
				s->pub.digests[o / ENGINE_RECORD_PIECE] =
					engine_sector_digest(s->pub.buf + o, ENGINE_RECORD_PIECE);
		r = engine_xts(p->xts, true, s->pub.u.plain_off, p->sector_size, s->pub.buf,
			       s->pub.buf, s->pub.u.len);
		if (r < 0) {
			set_err(p, r);
			return NULL;
		}
		pthread_mutex_lock(&p->lock);
		(void)i;
		s->state = SLOT_DONE;
		pthread_cond_broadcast(&p->cond);
		pthread_mutex_unlock(&p->lock);
	}
}

int engine_pipe_start(struct engine_pipe **ret, const struct engine_plan *pl, struct blkdev *src,
		      struct engine_cipher *xts, uint32_t sector_size, unsigned threads,
		      unsigned slots, bool digests, const uint8_t *head, uint64_t head_len)
{
	struct engine_pipe *p = calloc(1, sizeof(*p));
	int r;

	if (!p)
		return log_error(ENOMEM, "out of memory");
	p->plan = *pl;
	p->src = src;
	p->xts = xts;
	p->sector_size = sector_size;
	p->digests = digests;
	p->head = head;
	p->head_len = head ? head_len : 0;
	p->nunits = engine_plan_units(pl);
	p->nslots = slots < 2 ? 2 : slots;
	p->nthreads = threads < 1 ? 1 : threads;
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->cond, NULL);
	p->slots = calloc(p->nslots, sizeof(*p->slots));
	p->workers = calloc(p->nthreads, sizeof(*p->workers));
	if (!p->slots || !p->workers)
		goto oom;
	for (unsigned i = 0; i < p->nslots; i++) {
		p->slots[i].pub.buf = blkdev_alloc_large(pl->unit);
		if (!p->slots[i].pub.buf)
			goto oom;
		if (digests) {
			p->slots[i].pub.digests = calloc(pl->unit / ENGINE_RECORD_PIECE, sizeof(uint64_t));
			if (!p->slots[i].pub.digests)
				goto oom;
		}
	}
	*ret = p;
	r = pthread_create(&p->reader, NULL, reader_main, p);
	if (r)
		goto thread_fail;
	p->reader_started = true;
	for (unsigned i = 0; i < p->nthreads; i++) {
		r = pthread_create(&p->workers[i], NULL, worker_main, p);
		if (r)
			goto thread_fail;
		p->started++;
	}
	return 0;
oom:
	*ret = p;
	engine_pipe_stop(p);
	*ret = NULL;
	return log_error(ENOMEM, "cannot allocate %u I/O buffers of %llu bytes", p->nslots,
			 (unsigned long long)pl->unit);
thread_fail:
	set_err(p, -r);
	engine_pipe_stop(p);
	*ret = NULL;
	return log_error_errno(r, "cannot start I/O threads");
}

int engine_pipe_get(struct engine_pipe *p, uint64_t i, struct engine_pipe_slot **ret)
{
	struct slot *s = &p->slots[i % p->nslots];
	int r = 0;

	pthread_mutex_lock(&p->lock);
	while (!p->err && !(s->state == SLOT_DONE && s->idx == i))
		pthread_cond_wait(&p->cond, &p->lock);
	if (p->err)
		r = p->err;
	pthread_mutex_unlock(&p->lock);
	if (r == 0)
		*ret = &s->pub;
	return r;
}

void engine_pipe_put(struct engine_pipe *p, uint64_t i)
{
	struct slot *s = &p->slots[i % p->nslots];

	pthread_mutex_lock(&p->lock);
	s->state = SLOT_FREE;
	pthread_cond_broadcast(&p->cond);
	pthread_mutex_unlock(&p->lock);
}

int engine_pipe_stop(struct engine_pipe *p)
{
	int r;

	if (!p)
		return 0;
	pthread_mutex_lock(&p->lock);
	p->stop = true;
	pthread_cond_broadcast(&p->cond);
	pthread_mutex_unlock(&p->lock);
	if (p->reader_started)
		pthread_join(p->reader, NULL);
	for (unsigned i = 0; i < p->started; i++)
		pthread_join(p->workers[i], NULL);
	r = p->err;
	if (p->slots)
		for (unsigned i = 0; i < p->nslots; i++) {
			/* plaintext passed through these buffers */
			if (p->slots[i].pub.buf)
				explicit_bzero(p->slots[i].pub.buf, p->plan.unit);
			blkdev_free_large(p->slots[i].pub.buf, p->plan.unit);
			free(p->slots[i].pub.digests);
		}
	free(p->slots);
	free(p->workers);
	pthread_mutex_destroy(&p->lock);
	pthread_cond_destroy(&p->cond);
	free(p);
	return r;
}
