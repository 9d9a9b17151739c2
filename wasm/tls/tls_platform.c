/* What Mbed TLS needs of a platform, from JS: random bytes (crypto.getRandomValues, a
 * CSPRNG; there is no fallback, so without it every handshake fails) and the wall
 * clock with its calendar conversion (certificate validity). */
#include <string.h>
#include <time.h>
#include "tls.h"
#include "mbedtls/platform_util.h"

int
tls_rng(void *ctx, unsigned char *buf, size_t len)
{
  LWIP_UNUSED_ARG(ctx);
  /* js_entropy fills at most 65536 bytes a call (getRandomValues' limit) */
  while (len > 0) {
    u32_t n = len > 65536u ? 65536u : (u32_t)len;
    if (js_entropy(buf, n) != 0) {
      return -1;   /* Mbed TLS fails the operation: no weak randomness instead */
    }
    buf += n;
    len -= n;
  }
  return 0;
}

long long
tls_time(long long *t)
{
  long long now = (long long)js_time();
  if (t != NULL) {
    *t = now;
  }
  return now;
}

/* Days since 1970-01-01 to a civil date (Howard Hinnant's days_from_civil, inverted). */
struct tm *
mbedtls_platform_gmtime_r(const mbedtls_time_t *tt, struct tm *tm_buf)
{
  long long t = *tt;
  long long days = t >= 0 ? t / 86400 : -((-t + 86399) / 86400);
  long long secs = t - days * 86400;
  long long z = days + 719468;
  long long era = (z >= 0 ? z : z - 146096) / 146097;
  long long doe = z - era * 146097;
  long long yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  long long doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  long long mp = (5 * doy + 2) / 153;
  long long d = doy - (153 * mp + 2) / 5 + 1;
  long long m = mp < 10 ? mp + 3 : mp - 9;
  long long y = yoe + era * 400 + (m <= 2);
  memset(tm_buf, 0, sizeof(*tm_buf));
  tm_buf->tm_year = (int)(y - 1900);
  tm_buf->tm_mon = (int)(m - 1);
  tm_buf->tm_mday = (int)d;
  tm_buf->tm_hour = (int)(secs / 3600);
  tm_buf->tm_min = (int)(secs / 60 % 60);
  tm_buf->tm_sec = (int)(secs % 60);
  return tm_buf;
}
