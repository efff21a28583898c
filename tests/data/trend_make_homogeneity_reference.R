# Reference values for govlib.trend.homogeneity: R trend 1.1.6's br.test, bu.test and snh.test.
# R trend is not in Debian, so its functions are reproduced here verbatim from its source (github cran/trend,
# R/br.test.R, R/bu.test.R, R/snht.test.R) and its Fortran Monte Carlo (src/mcbr.f, mcbu.f, mcsnht.f, getpval.f)
# in plain R: per replicate n draws of norm_rand (= rnorm(n)), SD with divisor n, p = #(sim > obs) / m.
# Run from the project root: Rscript tests/data/trend_make_homogeneity_reference.R
ref <- "../shared/reference/trend"
stat_br <- function(x) {               # br.test's statistic and K
  xmean <- mean(x); n <- length(x); k <- 1:n
  Sk <- sapply(k, function(i) sum(x[1:i] - xmean)); sigma <- sd(x)
  R <- (max(Sk) - min(Sk)) / sigma; R <- R / sqrt(n)
  Ska <- abs(Sk); list(stat = R, K = k[Ska == max(Ska)][1])
}
stat_bu <- function(x) {               # bu.test's statistic and K
  xmean <- mean(x); n <- length(x); k <- 1:n
  Sk <- sapply(k, function(i) sum(x[1:i] - xmean)); sigma <- sd(x)
  U <- 1 / (n * (n + 1)) * sum((Sk[1:(n - 1)] / sigma)^2)
  Ska <- abs(Sk); list(stat = U, K = k[Ska == max(Ska)][1])
}
stat_snh <- function(x) {              # snh.test's statistic and K
  xmean <- mean(x); sigma <- sd(x); n <- length(x); k <- 1:(n - 1)
  Tk <- sapply(k, function(k) k * (1 / k * sum((x[1:k] - xmean) / sigma))^2 +
                 (n - k) * (1 / (n - k) * sum((x[(k + 1):n] - xmean) / sigma))^2)
  T <- max(Tk); list(stat = T, K = k[Tk == T][1])
}
mc <- function(test, n) {              # one Fortran Monte Carlo replicate
  x <- rnorm(n); mu <- sum(x) / n; sigma <- sqrt(sum((x - mu)^2) / n)
  sk <- cumsum(x - mu)
  if (test == "br") return(((max(sk) - min(sk)) / sigma) / sqrt(n))
  if (test == "bu") return(1 / (n * (n + 1)) * sum((sk[1:(n - 1)] / sigma)^2))
  k <- 1:(n - 1); z1 <- sk[k] / sigma / k; z2 <- -sk[k] / sigma / (n - k)
  max(k * z1^2 + (n - k) * z2^2)
}
pval <- function(test, stat, n, m, seed) {
  set.seed(seed); sims <- vapply(seq_len(m), function(j) mc(test, n), 0.0); sum(sims > stat) / m
}
series <- list(
  nile = read.csv(file.path(ref, "nile.csv"))$flow,
  pages = read.csv(file.path(ref, "pettitt1979_pages.csv"))[[2]],
  nottem_annual = tapply(read.csv(file.path(ref, "nottem.csv"))[[3]], rep(1:20, each = 12), mean)
)
set.seed(2024); series$shifted30 <- c(rnorm(15), rnorm(15, 1))
rows <- list()
for (name in names(series)) {
  x <- as.numeric(series[[name]])
  for (test in c("br", "bu", "snh")) {
    s <- switch(test, br = stat_br(x), bu = stat_bu(x), snh = stat_snh(x))
    for (seed in c(1, 42)) {
      rows[[length(rows) + 1]] <- data.frame(series = name, test = test, n = length(x), statistic = s$stat,
        K = s$K, seed = seed, m = 2000, p = pval(test, s$stat, length(x), 2000, seed))
    }
  }
}
out <- do.call(rbind, rows)
write.csv(format(out, digits = 17), "tests/data/trend_homogeneity_r.csv", row.names = FALSE, quote = FALSE)
