/*
 * The handful of C library functions that compiled Swift (and clang itself)
 * call into: memory moves and comparisons, and ceil for collection growth.
 * The kernel is freestanding, so it provides them. The string instructions
 * are short and fast enough on every x86_64 with ERMS; this file is the
 * only place they live.
 */
#include <stddef.h>
#include <stdint.h>

void *memcpy(void *dst, const void *src, size_t n) {
  void *ret = dst;
  __asm__ volatile("rep movsb"
                   : "+D"(dst), "+S"(src), "+c"(n) : : "memory");
  return ret;
}

void *memmove(void *dst, const void *src, size_t n) {
  unsigned char *d = dst;
  const unsigned char *s = src;
  if (d <= s || d >= s + n)
    return memcpy(dst, src, n);
  /* Overlapping with dst above src: copy backwards. */
  d += n - 1;
  s += n - 1;
  __asm__ volatile("std; rep movsb; cld"
                   : "+D"(d), "+S"(s), "+c"(n) : : "memory");
  return dst;
}

void *memset(void *dst, int c, size_t n) {
  void *ret = dst;
  __asm__ volatile("rep stosb" : "+D"(dst), "+c"(n) : "a"(c) : "memory");
  return ret;
}

int memcmp(const void *a, const void *b, size_t n) {
  const unsigned char *x = a, *y = b;
  for (size_t i = 0; i < n; i++)
    if (x[i] != y[i])
      return x[i] < y[i] ? -1 : 1;
  return 0;
}

size_t strlen(const char *s) {
  size_t n = 0;
  while (s[n])
    n++;
  return n;
}

double ceil(double x) {
  /* Values this large are already integers (and casting would overflow). */
  if (!(x > -4503599627370496.0 && x < 4503599627370496.0))
    return x;
  double t = (double)(int64_t)x;
  return t < x ? t + 1.0 : t;
}
