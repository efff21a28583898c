# Makes tests/data/survey_r_milk_fh_methods.csv: Fay-Herriot EBLUP and MSE for the sae 'milk' data by ML and by
# the Fay-Herriot moment method (sae::eblupFH(method = "ML" / "FH") and sae::mseFH).
# sae is not in Debian and CRAN is not reachable: the variance component comes from metafor 3.8
# (rma method = "ML"; method = "PM", Paule-Mandel, solves exactly the FH moment equation
#  sum (y - x'b)^2 / (A + psi) = D - p), and the MSEs are Rao & Molina (2015, sec. 6.2.1) / sae::mseFH written out:
#   ML: g1 + g2 + 2 g3 - b_ML B^2,  b_ML = -tr(Q X'V^-2 X) / sum V^-2,   var(A) = 2 / sum V^-2
#   FH: g1 + g2 + 2 g3 - b_FH B^2,  b_FH = 2 (D sum V^-2 - (sum V^-1)^2) / (sum V^-1)^3,  var(A) = 2 D / (sum V^-1)^2
# with B = psi / (A + psi), Q = (X'V^-1 X)^-1, g3 = B^2 var(A) / (A + psi). Also REML for the same table.
# Run from the project root: Rscript tests/data/survey_make_fh_methods_reference.R
suppressMessages(library(metafor))
milk <- read.csv("../shared/reference/survey/milk.csv")
X <- model.matrix(~ as.factor(MajorArea), data = milk)
y <- milk$yi; psi <- milk$var; m <- nrow(X); p <- ncol(X)
rows <- list()
for (method in c("ML", "FH", "REML")) {
  fit <- rma(yi = yi, vi = var, mods = ~ as.factor(MajorArea), data = milk,
             method = if (method == "FH") "PM" else method,
             control = list(threshold = 1e-13, maxiter = 1000, tol = 1e-13))
  A <- fit$tau2
  Vi <- 1 / (A + psi); B <- psi / (A + psi)
  Q <- solve(t(X) %*% (X * Vi)); beta <- as.vector(Q %*% t(X) %*% (Vi * y))
  xb <- as.vector(X %*% beta)
  eblup <- (1 - B) * y + B * xb
  g1 <- psi * (1 - B); g2 <- B^2 * rowSums((X %*% Q) * X)
  if (method == "FH") {
    varA <- 2 * m / sum(Vi)^2; b <- 2 * (m * sum(Vi^2) - sum(Vi)^2) / sum(Vi)^3
  } else {
    varA <- 2 / sum(Vi^2)
    b <- if (method == "ML") -sum(diag(Q %*% (t(X * Vi^2) %*% X))) / sum(Vi^2) else 0
  }
  g3 <- B^2 * varA / (A + psi)
  mse <- g1 + g2 + 2 * g3 - b * B^2
  rows[[method]] <- data.frame(method = method, SmallArea = milk$SmallArea, eblup = eblup, mse = mse, refvar = A,
                               beta0 = beta[1], beta1 = beta[2], beta2 = beta[3], beta3 = beta[4])
}
write.csv(do.call(rbind, rows), "tests/data/survey_r_milk_fh_methods.csv", row.names = FALSE)
