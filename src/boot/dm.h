/* Device-mapper ioctls for the one mapping rootcrypt creates itself: a
 * linear identity mapping that lets a disk left plain (key could not be
 * stored) still appear as /dev/mapper/NAME, so root=/dev/mapper/NAME boots
 * whatever state the disk is in. Encrypted volumes go through stock
 * cryptsetup (unlock.h). */
#pragma once
#include <stdint.h>

/* Maps all of dev_path to /dev/mapper/NAME. 0 or a negative errno. */
int dm_create_linear(const char *name, const char *dev_path);
