# Makes tests/data/survey_r_milk_fh.csv: Fay-Herriot EBLUP (REML) and its MSE for the sae 'milk' data.
# R's sae package is not packaged for Debian and CRAN is not reachable, so the reference is computed with
# metafor 3.8 (rma, method = "REML": the FH model is a random-effects meta-regression with known sampling
# variances) for the variance component and coefficients, and the Prasad-Rao / Datta-Lahiri MSE formula for
# REML (g1 + g2 + 2 g3, as sae::mseFH) written out here. Run from the project root:
#   Rscript tests/data/survey_make_fh_reference.R
suppressMessages(library(metafor))
milk <- read.csv("../shared/reference/survey/milk.csv")
fit <- rma(yi = yi, vi = var, mods = ~ as.factor(MajorArea), data = milk, method = "REML",
           control = list(threshold = 1e-12, maxiter = 1000))
A <- fit$tau2
X <- model.matrix(~ as.factor(MajorArea), data = milk)
beta <- as.vector(coef(fit))
D <- milk$var
gamma <- A / (A + D)
xb <- as.vector(X %*% beta)
eblup <- gamma * milk$yi + (1 - gamma) * xb
Vi <- 1 / (A + D)
XtVX_inv <- solve(t(X) %*% (X * Vi))
g1 <- gamma * D
g2 <- (1 - gamma)^2 * rowSums((X %*% XtVX_inv) * X)
varA <- 2 / sum(Vi^2)
g3 <- D^2 / (A + D)^3 * varA
mse <- g1 + g2 + 2 * g3
out <- data.frame(SmallArea = milk$SmallArea, eblup = eblup, mse = mse, g1 = g1, g2 = g2, g3 = g3,
                  refvar = A, beta0 = beta[1], beta1 = beta[2], beta2 = beta[3], beta3 = beta[4])
write.csv(out, "tests/data/survey_r_milk_fh.csv", row.names = FALSE)
print(fit)
