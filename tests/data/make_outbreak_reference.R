# Reference values for govlib.trend.outbreak: R surveillance 1.20.3 on public data sets shipped with the package.
# Run from tests/data: Rscript make_outbreak_reference.R  -> outbreak_reference_r.csv
# Series are used without dates (epochAsDate = FALSE): reference weeks are 52-week lags (govlib reference="lags").
suppressPackageStartupMessages(library(surveillance))
stopifnot(packageVersion("surveillance") == "1.20.3")
data(salmonella.agona)
agona <- disProg2sts(salmonella.agona)
data(salmNewport)
newport <- sts(observed = rowSums(observed(salmNewport)), frequency = 52)  # national total, no dates
rows <- list()
add <- function(case, series, s, range) {
  ctl <- s@control
  rows[[length(rows) + 1]] <<- data.frame(
    case = case, series = series, week = range, observed = as.vector(observed(s)),
    upperbound = as.vector(upperbound(s)), alarm = as.integer(as.vector(alarms(s))),
    expected = if (!is.null(ctl$expected)) as.vector(ctl$expected) else NA,
    pvalue = if (!is.null(ctl$pvalue)) as.vector(ctl$pvalue) else NA,
    trend = if (!is.null(ctl$trend)) as.vector(ctl$trend) else NA,
    phi = if (!is.null(ctl$phiVector)) as.vector(ctl$phiVector) else NA)
}
cases <- list(
  flex_delta = list(b = 4, w = 3, noPeriods = 1, reweight = TRUE, weightsThreshold = 1, alpha = 0.01,
                    thresholdMethod = "delta", pastWeeksNotIncluded = 3),
  noufaily_nb = list(b = 4, w = 3, noPeriods = 10, reweight = TRUE, weightsThreshold = 2.58, alpha = 0.01,
                     thresholdMethod = "nbPlugin", pastWeeksNotIncluded = 26),
  noufaily_muan = list(b = 4, w = 3, noPeriods = 10, reweight = TRUE, weightsThreshold = 2.58, alpha = 0.05,
                       thresholdMethod = "muan", pastWeeksNotIncluded = 26))
for (nm in names(cases)) {
  for (ser in c("agona", "newport")) {
    x <- if (ser == "agona") agona else newport
    range <- if (ser == "agona") 250:312 else 400:528
    ctl <- c(cases[[nm]], list(range = range, glmWarnings = FALSE))
    add(nm, ser, farringtonFlexible(x, control = ctl), range)
  }
}
for (m in c("C1", "C2", "C3")) {
  for (ser in c("agona", "newport")) {
    x <- if (ser == "agona") agona else newport
    range <- if (ser == "agona") 20:312 else 20:528
    add(paste0("ears_", m), ser, earsC(x, control = list(method = m, range = range, baseline = 7)), range)
  }
}
# classic Farrington et al. (1996): algo.farrington (help-page example of REFERENCES.md; its alpha is two-sided)
classic <- algo.farrington(salmonella.agona, control = list(b = 4, w = 3, range = 270:312, reweight = TRUE,
                                                            alpha = 0.01))
rows[[length(rows) + 1]] <- data.frame(case = "classic", series = "agona", week = 270:312,
  observed = salmonella.agona$observed[270:312], upperbound = as.vector(classic$upperbound),
  alarm = as.integer(as.vector(classic$alarm)), expected = NA, pvalue = NA, trend = as.vector(classic$trend),
  phi = NA)
out <- do.call(rbind, rows)
write.csv(out, "outbreak_reference_r.csv", row.names = FALSE)
