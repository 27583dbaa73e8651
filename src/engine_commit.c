/* See engine_commit.h. Why a thread: a commit is three flushes (data, then
 * each header copy), about 4 ms per 16 MiB on the build host, and with the
 * writer waiting on them the shift pass spent a fifth of its time there. */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>

#include "engine_commit.h"
#include "log.h"

#define QUEUE 16

struct engine_committer {
	struct engine_hdr *tail;
	struct blkdev *dev;
	uint64_t base;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	uint64_t queue[QUEUE]; /* requested marks, oldest first */
	unsigned head, count;
	uint64_t durable;
	bool stop;
	int err;
};

/* Data first, then the mark that says it is done: the flush makes every
 * write that returned before it durable, and only those were requested. */
static int commit_one(struct engine_committer *c, uint64_t mark)
{
	int r = blkdev_flush(c->dev);

	if (r == 0)
		r = engine_hdr_set_mark(c->tail, mark);
	if (r == 0)
		r = engine_hdr_commit(c->tail, c->dev, c->base);
	return r;
}

static void *committer_main(void *arg)
{
	struct engine_committer *c = arg;

	pthread_mutex_lock(&c->lock);
	for (;;) {
		uint64_t mark;
		int r;

		while (!c->count && !c->stop)
			pthread_cond_wait(&c->cond, &c->lock);
		if (!c->count)
			break; /* stopped with nothing left to commit */
		mark = c->queue[c->head];
		pthread_mutex_unlock(&c->lock);
		r = commit_one(c, mark);
		pthread_mutex_lock(&c->lock);
		c->head = (c->head + 1) % QUEUE;
		c->count--;
		if (r < 0) {
			c->err = r;
			c->count = 0;
			pthread_cond_broadcast(&c->cond);
			break;
		}
		c->durable = mark;
		pthread_cond_broadcast(&c->cond);
	}
	pthread_mutex_unlock(&c->lock);
	return NULL;
}

int engine_committer_start(struct engine_committer **ret, struct engine_hdr *tail,
			   struct blkdev *dev, uint64_t base, uint64_t mark)
{
	struct engine_committer *c = calloc(1, sizeof(*c));
	int r;

	if (!c)
		return log_error(ENOMEM, "out of memory");
	c->tail = tail;
	c->dev = dev;
	c->base = base;
	c->durable = mark;
	pthread_mutex_init(&c->lock, NULL);
	pthread_cond_init(&c->cond, NULL);
	r = pthread_create(&c->thread, NULL, committer_main, c);
	if (r) {
		pthread_mutex_destroy(&c->lock);
		pthread_cond_destroy(&c->cond);
		free(c);
		return log_error_errno(r, "cannot start the progress commit thread");
	}
	*ret = c;
	return 0;
}

int engine_committer_request(struct engine_committer *c, uint64_t mark)
{
	int r;

	pthread_mutex_lock(&c->lock);
	while (!c->err && c->count == QUEUE)
		pthread_cond_wait(&c->cond, &c->lock);
	r = c->err;
	if (!r) {
		c->queue[(c->head + c->count) % QUEUE] = mark;
		c->count++;
		pthread_cond_broadcast(&c->cond);
	}
	pthread_mutex_unlock(&c->lock);
	return r;
}

int engine_committer_wait(struct engine_committer *c, uint64_t need)
{
	int r;

	pthread_mutex_lock(&c->lock);
	while (!c->err && c->durable > need)
		pthread_cond_wait(&c->cond, &c->lock);
	r = c->err;
	pthread_mutex_unlock(&c->lock);
	return r;
}

int engine_committer_stop(struct engine_committer *c, uint64_t *durable)
{
	int r;

	if (!c)
		return 0;
	pthread_mutex_lock(&c->lock);
	c->stop = true;
	pthread_cond_broadcast(&c->cond);
	pthread_mutex_unlock(&c->lock);
	pthread_join(c->thread, NULL);
	r = c->err;
	if (durable)
		*durable = c->durable;
	pthread_mutex_destroy(&c->lock);
	pthread_cond_destroy(&c->cond);
	free(c);
	return r;
}
