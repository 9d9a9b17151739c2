/* The platform half of the lwIP port: time, randomness and diagnostics, all of which
 * come from the TypeScript host so that a stack can run on virtual time and seeds. */
#include <stdarg.h>
#include <stdio.h>
#include "lwip/sys.h"
#include "lw.h"

u32_t
sys_now(void)
{
  return js_now();
}

unsigned int
lw_rand(void)
{
  return js_rand();
}

void
lw_diag(const char *fmt, ...)
{
  char buf[256];
  va_list ap;
  int n;
  va_start(ap, fmt);
  n = vsnprintf(buf, sizeof(buf), fmt, ap);
  va_end(ap);
  if (n < 0) {
    return;
  }
  js_diag(buf, n < (int)sizeof(buf) ? n : (int)sizeof(buf) - 1);
}

void
lw_assert_fail(const char *msg, int line, const char *file)
{
  char buf[256];
  int n = snprintf(buf, sizeof(buf), "lwIP assertion \"%s\" failed at %s:%d", msg, file, line);
  js_assert(buf, n < (int)sizeof(buf) ? n : (int)sizeof(buf) - 1);
  __builtin_trap();
}
