# Reference values for govlib.services.conformity.fisher_z_interval / conformity_relation (Pearson):
# R's cor.test (Fisher z interval, t test p value) on three seeded data sets.
# Run: Rscript conformity_cor_test_reference.R  (writes conformity_cor_test_data.csv and conformity_cor_test_reference.csv)
set.seed(18)
sets <- list()
for (k in 1:3) {
  n <- c(12, 40, 150)[k]
  x <- round(runif(n, 40, 100), 2)
  y <- round(60 + c(0.1, 0.3, 0.05)[k] * x + rnorm(n, 0, 6), 2)
  sets[[k]] <- data.frame(set = k, x = x, y = y)
}
data <- do.call(rbind, sets)
write.csv(data, "conformity_cor_test_data.csv", row.names = FALSE)
ref <- do.call(rbind, lapply(split(data, data$set), function(d) {
  ct <- cor.test(d$x, d$y, method = "pearson", conf.level = 0.95)
  ct90 <- cor.test(d$x, d$y, method = "pearson", conf.level = 0.90)
  data.frame(set = d$set[1], n = nrow(d), r = unname(ct$estimate), ci_low = ct$conf.int[1], ci_high = ct$conf.int[2],
             ci90_low = ct90$conf.int[1], ci90_high = ct90$conf.int[2], p = ct$p.value)
}))
write.csv(format(ref, digits = 15), "conformity_cor_test_reference.csv", row.names = FALSE, quote = FALSE)
