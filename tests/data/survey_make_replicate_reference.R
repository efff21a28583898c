# Reference values for govlib.survey.replicate (tests/test_replicate.py), R survey 4.1-1.
# Run from the project root: Rscript tests/data/survey_make_replicate_reference.R
# Writes survey_r_replicate.csv (estimates and SEs) and the replicate weights R generated for BRR, Fay and the
# bootstrap (survey_r_repw_<type>.csv: full-sample weight `w` and replicate weights `r1`.., combined) so that
# Python can reproduce those designs exactly from supplied weights (svrepdesign).
suppressMessages(library(survey))
ref <- "../shared/reference/survey/"
apistrat <- read.csv(paste0(ref, "apistrat.csv"))
apiclus1 <- read.csv(paste0(ref, "apiclus1.csv"))
out <- list()
add <- function(case, stat, domain, variable, est, se) {
  out[[length(out) + 1]] <<- data.frame(case = case, stat = stat, domain = as.character(domain),
                                        variable = variable, estimate = as.numeric(est), se = as.numeric(se))
}
run <- function(case, des) {
  x <- svymean(~api00, des); add(case, "mean", "all", "api00", coef(x), SE(x))
  x <- svymean(~api00 + api99, des); add(case, "mean", "all", c("api00", "api99"), coef(x), SE(x))
  x <- svytotal(~enroll, des); add(case, "total", "all", "enroll", coef(x), SE(x))
  x <- svyratio(~api00, ~api99, des); add(case, "ratio", "all", "api00/api99", coef(x), SE(x))
  x <- svymean(~factor(sch.wide), des); add(case, "prop", "all", c("sch.wideNo", "sch.wideYes"), coef(x), SE(x))
  x <- svyby(~api00, ~stype, des, svymean); add(case, "mean", x$stype, "api00", coef(x), SE(x))
  x <- svyby(~enroll, ~stype, des, svytotal); add(case, "total", x$stype, "enroll", coef(x), SE(x))
  x <- svyby(~api00, ~stype, des, svyratio, denominator = ~api99)
  add(case, "ratio", x$stype, "api00/api99", coef(x), SE(x))
}
dclus1 <- svydesign(id = ~dnum, weights = ~pw, fpc = ~fpc, data = apiclus1)
dstrat <- svydesign(id = ~1, strata = ~stype, weights = ~pw, fpc = ~fpc, data = apistrat)
run("clus1_JK1", as.svrepdesign(dclus1, type = "JK1"))
run("clus1_JK1_mse", as.svrepdesign(dclus1, type = "JK1", mse = TRUE))
run("strat_JKn", as.svrepdesign(dstrat, type = "JKn"))
dclus1n <- svydesign(id = ~dnum, weights = ~pw, data = apiclus1)
run("clus1nofpc_JK1", as.svrepdesign(dclus1n, type = "JK1"))

# BRR / Fay: apistrat in pseudo-strata of two schools (consecutive within stype, by snum)
pairs <- apistrat[order(apistrat$stype, apistrat$snum), ]
pairs$pair <- paste(pairs$stype, rep(seq_len(nrow(pairs) / 2), each = 2))
pairs$pair <- sprintf("%s%03d", pairs$stype, ave(seq_len(nrow(pairs)), pairs$stype, FUN = function(i) (i + 1) %/% 2))
write.csv(pairs[, c("snum", "stype", "pair", "pw", "api00", "api99", "enroll", "sch.wide")],
          "tests/data/survey_r_pairs.csv", row.names = FALSE)
dpairs <- svydesign(id = ~snum, strata = ~pair, weights = ~pw, data = pairs)
brr <- as.svrepdesign(dpairs, type = "BRR")
fay <- as.svrepdesign(dpairs, type = "Fay", fay.rho = 0.5)
run("pairs_BRR", brr)
run("pairs_Fay", fay)
set.seed(20261201)
boot <- as.svrepdesign(dstrat, type = "bootstrap", replicates = 50)
run("strat_bootstrap", boot)
dump_w <- function(des, file) {
  w <- weights(des, "analysis"); colnames(w) <- paste0("r", seq_len(ncol(w)))
  write.csv(data.frame(w = weights(des, "sampling"), w), file, row.names = FALSE)
}
dump_w(brr, "tests/data/survey_r_repw_brr.csv")
dump_w(fay, "tests/data/survey_r_repw_fay.csv")
dump_w(boot, "tests/data/survey_r_repw_boot.csv")
add("strat_bootstrap", "scale", "all", "scale", boot$scale, NA)

# calibrated replicate designs (each replicate calibrated, R's postStratify/rake of a svyrep.design)
rclus1 <- as.svrepdesign(dclus1, type = "JK1")
pop.types <- data.frame(stype = c("E", "H", "M"), Freq = c(4421, 755, 1018))
pop.sch <- data.frame(sch.wide = c("No", "Yes"), Freq = c(1460, 4734))
ps <- postStratify(rclus1, ~stype, pop.types)
x <- svymean(~api00, ps); add("clus1_JK1_poststrat", "mean", "all", "api00", coef(x), SE(x))
x <- svytotal(~enroll, ps); add("clus1_JK1_poststrat", "total", "all", "enroll", coef(x), SE(x))
rk <- rake(rclus1, list(~stype, ~sch.wide), list(pop.types, pop.sch), control = list(maxit = 100, epsilon = 1e-9))
x <- svymean(~api00, rk); add("clus1_JK1_rake", "mean", "all", "api00", coef(x), SE(x))
x <- svytotal(~enroll, rk); add("clus1_JK1_rake", "total", "all", "enroll", coef(x), SE(x))
# subsets keep the whole design for the variance (R's subset.survey.design / subset.svyrep.design)
sub <- subset(dclus1, stype == "E" & enroll > 300)
x <- svymean(~api00, sub); add("clus1_subset", "mean", "all", "api00", coef(x), SE(x))
x <- svyratio(~api00, ~api99, sub); add("clus1_subset", "ratio", "all", "api00/api99", coef(x), SE(x))
x <- svymean(~api00, subset(rclus1, stype == "E" & enroll > 300))
add("clus1_JK1_subset", "mean", "all", "api00", coef(x), SE(x))
# JKn with lonely PSUs (apiclus1 stratified by county: many counties have one district)
for (rule in c("remove", "average", "certainty")) {
  options(survey.lonely.psu = rule)
  dl <- svydesign(id = ~dnum, strata = ~cname, weights = ~pw, data = apiclus1)
  x <- svymean(~api00, as.svrepdesign(dl, type = "JKn"))
  add(paste0("clus1_cname_JKn_", rule), "mean", "all", "api00", coef(x), SE(x))
}
options(survey.lonely.psu = "fail")
write.csv(do.call(rbind, out), "tests/data/survey_r_replicate.csv", row.names = FALSE)
