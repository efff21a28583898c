# Reference values for govlib.index.weights.factor_weights on the OECD/JRC Handbook's TAI data (23 countries).
# Makes index_r_factanal_tai23.csv: for k = 2, 3, 4 factors, maximum-likelihood extraction (stats::factanal) and
# principal-component extraction (eigen of the correlation matrix), both varimax-rotated (stats::varimax,
# Kaiser-normalised); per indicator the rotated loadings, the uniqueness (ML), and the Handbook's weights
# (2008, section 6.1: squared rotated loadings scaled to unity sum per factor; each indicator in the factor where
# its scaled squared loading is largest; factors weighted by their share of the explained variance; sum 1).
# Run: Rscript tests/data/index_make_factanal_reference.R ../shared/reference/composite/tai23.csv tests/data
args <- commandArgs(trailingOnly = TRUE)
x <- read.csv(args[1], row.names = 1)
R <- cor(x)
handbook <- function(L) {
  L2 <- L^2
  ss <- colSums(L2)
  sc <- sweep(L2, 2, ss, "/")
  j <- apply(sc, 1, which.max)
  w <- sc[cbind(seq_len(nrow(L)), j)] * (ss / sum(ss))[j]
  list(w = w / sum(w), factor = j)
}
rows <- list()
for (k in 2:4) {
  f <- factanal(x, factors = k, rotation = "varimax")
  L <- unclass(f$loadings)
  h <- handbook(L)
  for (j in seq_len(k)) rows[[length(rows) + 1]] <- data.frame(
    extraction = "ml", n_factors = k, indicator = colnames(x), factor = j, loading = L[, j],
    uniqueness = f$uniquenesses, weight = h$w, assigned = h$factor)
  e <- eigen(R, symmetric = TRUE)
  P <- e$vectors[, 1:k] %*% diag(sqrt(e$values[1:k]))
  P <- unclass(varimax(P)$loadings)
  h <- handbook(P)
  for (j in seq_len(k)) rows[[length(rows) + 1]] <- data.frame(
    extraction = "pca", n_factors = k, indicator = colnames(x), factor = j, loading = P[, j],
    uniqueness = 1 - rowSums(P^2), weight = h$w, assigned = h$factor)
}
out <- do.call(rbind, rows)
write.csv(out, file.path(args[2], "index_r_factanal_tai23.csv"), row.names = FALSE)
