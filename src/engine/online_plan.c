#include "online_plan.h"

uint64_t online_shift_capacity(uint64_t part_size)
{
	uint64_t p = part_size / 4096 * 4096;

	return p < ONLINE_REDUCE_SIZE ? 0 : p - ONLINE_REDUCE_SIZE;
}
