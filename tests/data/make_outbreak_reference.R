# Reference values for govlib.trend.outbreak: R surveillance 1.20.3 on public data sets shipped with the package.
# Run from tests/data: Rscript make_outbreak_reference.R ->
#   outbreak_reference_r.csv        series without dates (epochAsDate = FALSE): reference weeks are 52-week lags
#                                   (govlib reference="lags")
#   outbreak_dates_reference_r.csv  the same series dated weekly (epochAsDate = TRUE): reference weeks by calendar
#                                   date (govlib reference="dates"); salmonella.agona from Monday 1990-01-01, the
#                                   salmNewport total with its own epoch (Mondays from 2004-01-05)
#   outbreak_dates_refweeks_r.csv   the reference week 1..5 years back of every dated week, as R picks it
# One year back is 52 weeks plus a day or two, so as years add up the nearest week with the same weekday is 53
# weeks back (the ISO years with 53 weeks).
suppressPackageStartupMessages(library(surveillance))
stopifnot(packageVersion("surveillance") == "1.20.3")
data(salmonella.agona)
data(salmNewport)
undated <- list(agona = disProg2sts(salmonella.agona),
                newport = sts(observed = rowSums(observed(salmNewport)), frequency = 52))  # national total
dated <- list(
  agona = sts(observed = salmonella.agona$observed, epoch = as.Date("1990-01-01") + 7 * (0:311),
              epochAsDate = TRUE, frequency = 52),
  newport = sts(observed = rowSums(observed(salmNewport)), epoch = epoch(salmNewport), epochAsDate = TRUE,
                frequency = 52))
rows <- list()
add <- function(case, series, s, range, dates = NULL) {
  ctl <- s@control
  row <- data.frame(
    case = case, series = series, week = range, observed = as.vector(observed(s)),
    upperbound = as.vector(upperbound(s)), alarm = as.integer(as.vector(alarms(s))),
    expected = if (!is.null(ctl$expected)) as.vector(ctl$expected) else NA,
    pvalue = if (!is.null(ctl$pvalue)) as.vector(ctl$pvalue) else NA,
    trend = if (!is.null(ctl$trend)) as.vector(ctl$trend) else NA,
    phi = if (!is.null(ctl$phiVector)) as.vector(ctl$phiVector) else NA)
  if (!is.null(dates)) row <- cbind(row[1:3], date = format(dates[range]), row[-(1:3)])
  rows[[length(rows) + 1]] <<- row
}
cases <- list(
  flex_delta = list(b = 4, w = 3, noPeriods = 1, reweight = TRUE, weightsThreshold = 1, alpha = 0.01,
                    thresholdMethod = "delta", pastWeeksNotIncluded = 3),
  noufaily_nb = list(b = 4, w = 3, noPeriods = 10, reweight = TRUE, weightsThreshold = 2.58, alpha = 0.01,
                     thresholdMethod = "nbPlugin", pastWeeksNotIncluded = 26),
  noufaily_muan = list(b = 4, w = 3, noPeriods = 10, reweight = TRUE, weightsThreshold = 2.58, alpha = 0.05,
                       thresholdMethod = "muan", pastWeeksNotIncluded = 26))
flexible <- function(sets, dates = FALSE) {
  for (nm in names(cases)) {
    for (ser in c("agona", "newport")) {
      range <- if (ser == "agona") 250:312 else 400:528
      ctl <- c(cases[[nm]], list(range = range, glmWarnings = FALSE))
      add(nm, ser, farringtonFlexible(sets[[ser]], control = ctl), range,
          if (dates) epoch(sets[[ser]]) else NULL)
    }
  }
}
flexible(undated)
for (m in c("C1", "C2", "C3")) {
  for (ser in c("agona", "newport")) {
    range <- if (ser == "agona") 20:312 else 20:528
    add(paste0("ears_", m), ser, earsC(undated[[ser]], control = list(method = m, range = range, baseline = 7)),
        range)
  }
}
# classic Farrington et al. (1996): algo.farrington (help-page example of REFERENCES.md; its alpha is two-sided)
classic <- function(dp, ser, range, dates = NULL) {
  cl <- algo.farrington(dp, control = list(b = 4, w = 3, range = range, reweight = TRUE, alpha = 0.01))
  row <- data.frame(case = "classic", series = ser, week = range, observed = dp$observed[range],
                    upperbound = as.vector(cl$upperbound), alarm = as.integer(as.vector(cl$alarm)), expected = NA,
                    pvalue = NA, trend = as.vector(cl$trend), phi = NA)
  if (!is.null(dates)) row <- cbind(row[1:3], date = format(dates[range]), row[-(1:3)])
  rows[[length(rows) + 1]] <<- row
}
classic(salmonella.agona, "agona", 270:312)
write.csv(do.call(rbind, rows), "outbreak_reference_r.csv", row.names = FALSE)

# dated series: reference weeks by calendar date (farringtonFlexible: algo.farrington.referencetimepoints and
# blocks; algo.farrington: refvalIdxByDate)
rows <- list()
flexible(dated, dates = TRUE)
# five years back on newport: more reference weeks 53 weeks (or 2 x 53) away
ctl <- list(b = 5, w = 2, noPeriods = 4, reweight = TRUE, weightsThreshold = 2.58, alpha = 0.01,
            thresholdMethod = "delta", pastWeeksNotIncluded = 2, range = 300:528, glmWarnings = FALSE)
add("flex_b5", "newport", farringtonFlexible(dated$newport, control = ctl), 300:528, epoch(dated$newport))
classic(sts2disProg(dated$agona), "agona", 270:312, epoch(dated$agona))
classic(sts2disProg(dated$newport), "newport", 400:528, epoch(dated$newport))
write.csv(do.call(rbind, rows), "outbreak_dates_reference_r.csv", row.names = FALSE)
refs <- list()
for (ser in names(dated)) {
  d <- epoch(dated[[ser]])
  for (k in seq_along(d)) {
    tp <- surveillance:::algo.farrington.referencetimepoints(d[k], b = 5, freq = 52, epochAsDate = TRUE,
                                                             epochStr = "week")
    refs[[length(refs) + 1]] <- data.frame(series = ser, week = k, years_back = 1:5,
                                           ref_week = match(as.numeric(tp[-1]), as.numeric(d)))
  }
}
write.csv(do.call(rbind, refs), "outbreak_dates_refweeks_r.csv", row.names = FALSE)
