/* The boundary as the compiler sees it: every record, field, enum value, export and
 * import of abi.h, with offsets and sizes from offsetof and sizeof. Built on its own
 * (build/abi-layout.wasm, same target and flags as the glue) and read by
 * scripts/gen-abi.mjs, which writes the TypeScript side from it. Never linked into
 * lwip.wasm. */
#include "abi.h"

struct lw_abi_row {
  const char *what;   /* "record", "field", "enum", "export" or "import" */
  const char *a, *b, *c, *d;
  u32_t n1, n2, n3;
};

/* record: a = name, n1 = size.
 * field:  a = record, b = name, c = C type, d = "scalar" | "array" | "record",
 *         n1 = offset, n2 = size, n3 = element count. */
#define ROW_F(s, t, n) \
  { "field", #s, #n, #t, "scalar", offsetof(struct s, n), sizeof(((struct s *)0)->n), 1 },
#define ROW_A(s, t, n, cnt) \
  { "field", #s, #n, #t, "array", offsetof(struct s, n), sizeof(((struct s *)0)->n), (cnt) },
#define ROW_N(s, t, n) \
  { "field", #s, #n, #t, "record", offsetof(struct s, n), sizeof(((struct s *)0)->n), 1 },
#define ROW_RECORD(s, fields) \
  { "record", #s, "", "", "", sizeof(struct s), 0, 0 }, fields(ROW_F, ROW_A, ROW_N, s)
/* enum: a = enum, b = name, n1 = value. */
#define ROW_E(e, n) { "enum", #e, #n, "", "", LW_##e##_##n, 0, 0 },
#define ROW_ENUM(e, list) list(ROW_E)
/* export: a = kind, b = return type, c = name, d = parameters. import: the same, a = "". */
#define ROW_X(kind, ret, name, params) { "export", #kind, #ret, #name, #params, 0, 0, 0 },
/* tls-export: the same, for LW_TLS_EXPORTS (lwip-tls.wasm only). */
#define ROW_T(kind, ret, name, params) { "tls-export", #kind, #ret, #name, #params, 0, 0, 0 },
#define ROW_I(ret, name, params) { "import", "", #ret, #name, #params, 0, 0, 0 },

static const struct lw_abi_row rows[] = {
  LW_RECORDS(ROW_RECORD)
  LW_ENUMS(ROW_ENUM)
  LW_EXPORTS(ROW_X)
  LW_TLS_EXPORTS(ROW_T)
  LW_IMPORTS(ROW_I)
};

const struct lw_abi_row *
abi_rows(void)
{
  return rows;
}

u32_t
abi_count(void)
{
  return (u32_t)(sizeof(rows) / sizeof(rows[0]));
}

u32_t
abi_row_size(void)
{
  return (u32_t)sizeof(struct lw_abi_row);
}
