# nfsub report: settings every gnuplot figure shares.
# The figure's script sets `fmt` ("png" or "svg"), `figbase` (output path
# without extension) and its own variables, then loads its template, which
# loads this file first.
# A template may set `width` and `height` (pixels) before loading this.
if (!exists("width")) width = 900
if (!exists("height")) height = 540
if (fmt eq "svg") {
    set terminal svg size width,height dynamic enhanced \
        font "DejaVu Sans,13" background "#ffffff"
} else {
    set terminal pngcairo size width,height enhanced \
        font "DejaVu Sans,11" background "#ffffff"
}
set output figbase . "." . fmt
set encoding utf8
set border 3 lw 1 lc rgb "#404040"
set tics nomirror out scale 0.6 textcolor rgb "#303030"
set grid xtics ytics lw 1 lc rgb "#e4e4e4" dt 1
set key opaque box lc rgb "#c8c8c8" samplen 4 spacing 1.15
set title font ",14" textcolor rgb "#202020"
set datafile missing "NaN"

# Decimal units as the published report: 1 KB = 10^3 bytes.
byte_tics = '("10KB" 1e4, "100KB" 1e5, "1MB" 1e6, "10MB" 1e7, "100MB" 1e8, "1GB" 1e9, "10GB" 1e10, "100GB" 1e11)'
