# Makes the R reference outputs tests/data/survey_r_*.csv used by tests/test_survey*.py and test_calibrate.py.
# R 4.x, survey 4.1-1 (Debian r-cran-survey). Run from the project root:
#   Rscript tests/data/survey_make_reference.R
suppressMessages(library(survey))
ref <- "../shared/reference/survey/"
apistrat <- read.csv(paste0(ref, "apistrat.csv"))
apiclus1 <- read.csv(paste0(ref, "apiclus1.csv"))
apiclus2 <- read.csv(paste0(ref, "apiclus2.csv"))
out <- list()
add <- function(case, domain, variable, est, se, deff = NA) {
  out[[length(out) + 1]] <<- data.frame(case = case, domain = as.character(domain), variable = variable,
                                        estimate = as.numeric(est), se = as.numeric(se), deff = as.numeric(deff))
}
one <- function(case, x, variable) {
  d <- attr(x, "deff"); if (is.null(d)) d <- NA
  add(case, "all", variable, coef(x), SE(x), if (length(d) == length(coef(x))) diag(as.matrix(d)) else NA)
}
byres <- function(case, x, variable) {
  dn <- if ("DEff" %in% names(x) || any(grepl("^DEff", names(x)))) x[[grep("^DEff", names(x))[1]]] else NA
  add(case, rownames(x), variable, coef(x), SE(x), dn)
}
dstrat <- svydesign(id = ~1, strata = ~stype, weights = ~pw, fpc = ~fpc, data = apistrat)
dclus1 <- svydesign(id = ~dnum, weights = ~pw, fpc = ~fpc, data = apiclus1)
dclus2 <- svydesign(id = ~dnum + snum, fpc = ~fpc1 + fpc2, data = apiclus2)
dclus2w <- svydesign(id = ~dnum + snum, weights = ~pw, data = apiclus2)

one("dstrat_mean_api00", svymean(~api00, dstrat, deff = TRUE), "api00")
one("dstrat_total_enroll", svytotal(~enroll, dstrat, deff = TRUE), "enroll")
one("dclus1_mean_api00", svymean(~api00, dclus1, deff = TRUE), "api00")
one("dclus1_total_enroll", svytotal(~enroll, dclus1, deff = TRUE), "enroll")
one("dclus2_mean_api00", svymean(~api00, dclus2, deff = TRUE), "api00")
one("dclus2_total_enroll", svytotal(~enroll, dclus2, deff = TRUE, na.rm = TRUE), "enroll")
one("dclus2w_mean_api00", svymean(~api00, dclus2w, deff = TRUE), "api00")
one("dclus1_prop_stype", svymean(~stype, dclus1), "stype")
one("dstrat_ratio_api00_api99", svyratio(~api00, ~api99, dstrat), "api00/api99")
one("dclus2_ratio_api00_api99", svyratio(~api00, ~api99, dclus2), "api00/api99")
byres("dstrat_by_schwide_mean_api00", svyby(~api00, ~sch.wide, dstrat, svymean, deff = TRUE), "api00")
byres("dclus1_by_stype_mean_api00", svyby(~api00, ~stype, dclus1, svymean, deff = TRUE), "api00")
byres("dclus1_by_stype_total_enroll", svyby(~enroll, ~stype, dclus1, svytotal, deff = TRUE), "enroll")
byres("dclus2_by_stype_mean_api00", svyby(~api00, ~stype, dclus2, svymean, deff = TRUE), "api00")
byres("dclus2_by_stype_total_enroll", svyby(~enroll, ~stype, dclus2, svytotal, na.rm = TRUE), "enroll")
byres("dclus1_by_stype_ratio", svyby(~api00, ~stype, dclus1, svyratio, denominator = ~api99), "api00/api99")
# domain with missing values (na.rm = TRUE is domain estimation)
apiclus1$acs46 <- apiclus1$acs.46
dclus1b <- svydesign(id = ~dnum, weights = ~pw, fpc = ~fpc, data = apiclus1)
one("dclus1_mean_acs46_narm", svymean(~acs46, dclus1b, na.rm = TRUE, deff = TRUE), "acs46")
byres("dclus1_by_stype_mean_acs46_narm", svyby(~acs46, ~stype, dclus1b, svymean, na.rm = TRUE, deff = TRUE), "acs46")
# lonely PSUs: apiclus1 stratified by county (several counties have one sampled district)
for (opt in c("remove", "certainty", "adjust", "average")) {
  options(survey.lonely.psu = opt)
  dl <- svydesign(id = ~dnum, strata = ~cname, weights = ~pw, data = apiclus1)
  one(paste0("lonely_", opt, "_mean_api00"), svymean(~api00, dl), "api00")
  byres(paste0("lonely_", opt, "_by_stype_mean_api00"), svyby(~api00, ~stype, dl, svymean), "api00")
}
options(survey.lonely.psu = "fail")
# calibration (population margins from the R documentation of rake/postStratify)
pop.types <- data.frame(stype = c("E", "H", "M"), Freq = c(4421, 755, 1018))
pop.schwide <- data.frame(sch.wide = c("No", "Yes"), Freq = c(1072, 5122))
dps <- postStratify(dclus1, ~stype, pop.types)
one("dclus1_poststrat_mean_api00", svymean(~api00, dps), "api00")
one("dclus1_poststrat_total_enroll", svytotal(~enroll, dps), "enroll")
byres("dclus1_poststrat_by_schwide_mean_api00", svyby(~api00, ~sch.wide, dps, svymean), "api00")
drk <- rake(dclus1, list(~stype, ~sch.wide), list(pop.types, pop.schwide))
one("dclus1_rake_mean_api00", svymean(~api00, drk), "api00")
one("dclus1_rake_total_enroll", svytotal(~enroll, drk), "enroll")
byres("dclus1_rake_by_compimp_mean_api00", svyby(~api00, ~comp.imp, drk, svymean), "api00")
byres("dclus1_rake_by_stype_mean_api00", svyby(~api00, ~stype, drk, svymean), "api00")
# two-stage designs after calibration (the survey stage's path)
dps2 <- postStratify(dclus2, ~stype, pop.types)
one("dclus2_poststrat_mean_api00", svymean(~api00, dps2), "api00")
byres("dclus2_poststrat_by_schwide_mean_api00", svyby(~api00, ~sch.wide, dps2, svymean), "api00")
drk2 <- rake(dclus2, list(~stype, ~sch.wide), list(pop.types, pop.schwide))
one("dclus2_rake_mean_api00", svymean(~api00, drk2), "api00")
byres("dclus2_rake_by_stype_mean_api00", svyby(~api00, ~stype, drk2, svymean), "api00")
add("dclus1_rake_weights_sum", "all", "weights", sum(weights(drk)), NA)
add("dclus1_rake_weight_first", "all", "weights", weights(drk)[1], NA)
res <- do.call(rbind, out)
write.csv(res, "tests/data/survey_r_reference.csv", row.names = FALSE)
write.csv(data.frame(w = weights(drk)), "tests/data/survey_r_rake_weights.csv", row.names = FALSE)
