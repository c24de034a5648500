# nfsub report: monthly average traffic normalised to a base month
# (Figure 1), broadband above and mobile below, each service divided by
# its own OUT of the base month.
# Variables: datafile (column 1 = month "YYYY-MM", then one column per
# series), titles[], colors[], dashes[], points[] (per series),
# list1, list2 (series numbers of each panel, e.g. "1 2 3"), plot_title,
# panel1_title, panel2_title, ylabel1, ylabel2, xtic_list (a gnuplot tic
# list of months).
height = 860
load assets . "/common.gp"
set xdata time
set timefmt "%Y-%m"
set format x "%Y"
eval "set xtics " . xtic_list
set xlabel "Month"
set yrange [0:*]
set key top left
set multiplot layout 2,1 title plot_title font ",14"
set title panel1_title font ",12"
set ylabel ylabel1
if (strlen(list1) > 0) {
    plot for [k in list1] datafile using 1:(column(int(k)+1)) with linespoints \
        lw 2 dt dashes[int(k)] pt points[int(k)] ps 0.55 lc rgb colors[int(k)] \
        title titles[int(k)]
}
set title panel2_title font ",12"
set ylabel ylabel2
if (strlen(list2) > 0) {
    plot for [k in list2] datafile using 1:(column(int(k)+1)) with linespoints \
        lw 2 dt dashes[int(k)] pt points[int(k)] ps 0.55 lc rgb colors[int(k)] \
        title titles[int(k)]
}
unset multiplot
