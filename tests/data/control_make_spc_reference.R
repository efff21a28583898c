# Exact ARLs and critical limits from R spc 0.6.7 (method "igl", default nodes), for tests/test_control_arl.py.
# Run: Rscript tests/data/control_make_spc_reference.R  (writes tests/data/control_spc_arl.csv)
library(spc)
rows <- list()
add <- function(chart, sided, p1, p2, mu, hs, value, what)
  rows[[length(rows) + 1]] <<- data.frame(chart = chart, sided = sided, p1 = p1, p2 = p2, mu = mu, hs = hs,
                                          what = what, value = value)
for (k in c(0.25, 0.5, 1.0)) for (h in c(2, 4, 5, 8)) for (mu in c(0, 0.5, 1, 2, 3)) {
  add("cusum", "two", k, h, mu, 0, xcusum.arl(k, h, mu, sided = "two"), "arl")
  add("cusum", "one", k, h, mu, 0, xcusum.arl(k, h, mu, sided = "one"), "arl")
}
for (mu in c(0, 1)) add("cusum", "two", 0.5, 4, mu, 2, xcusum.arl(0.5, 4, mu, hs = 2, sided = "two"), "arl")
for (l in c(0.05, 0.1, 0.2, 0.3, 0.5, 1.0)) for (L in c(2.5, 2.7, 2.86, 3.0)) for (mu in c(0, 0.5, 1, 2)) {
  add("ewma", "two", l, L, mu, 0, xewma.arl(l, L, mu, sided = "two"), "arl")
}
add("ewma", "two", 0.2, 2.86, 1, 1, xewma.arl(0.2, 2.86, 1, hs = 1, sided = "two"), "arl")
for (L0 in c(100, 370, 500)) {
  for (k in c(0.25, 0.5, 1.0)) add("cusum", "two", k, NA, 0, 0, xcusum.crit(k, L0, sided = "two"), paste0("crit", L0))
  for (l in c(0.05, 0.1, 0.2, 0.5)) add("ewma", "two", l, NA, 0, 0, xewma.crit(l, L0, sided = "two"), paste0("crit", L0))
}
out <- do.call(rbind, rows)
write.csv(out, "tests/data/control_spc_arl.csv", row.names = FALSE)
