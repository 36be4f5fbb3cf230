# Draws recall-latency.png from recall-latency.dat: cd here, then gnuplot recall-latency.gp
set terminal pngcairo size 1560,600 noenhanced
set output 'recall-latency.png'
set multiplot layout 1,3 title 'filtered recall@10 vs mean query latency, one panel per selectivity'
set logscale y
set grid
set key bottom right font ',8'
set xrange [0:1.02]
set xlabel 'recall@10'
set ylabel 'mean query latency (ms)'
set title 'selectivity 10% (100 queries)'
plot 'recall-latency.dat' index 0 using 1:2 with points lt 1 pt 1 title 'flat-metadata', \
     'recall-latency.dat' index 1 using 1:2 with points lt 2 pt 2 title 'flat-partition', \
     'recall-latency.dat' index 2 using 1:2 with points lt 3 pt 3 title 'ivf-postfilter'
set title 'selectivity 1% (100 queries)'
plot 'recall-latency.dat' index 3 using 1:2 with points lt 1 pt 1 title 'flat-metadata', \
     'recall-latency.dat' index 4 using 1:2 with points lt 2 pt 2 title 'flat-partition', \
     'recall-latency.dat' index 5 using 1:2 with points lt 3 pt 3 title 'ivf-postfilter'
set title 'selectivity 0.1% (100 queries)'
plot 'recall-latency.dat' index 6 using 1:2 with points lt 1 pt 1 title 'flat-metadata', \
     'recall-latency.dat' index 7 using 1:2 with points lt 2 pt 2 title 'flat-partition', \
     'recall-latency.dat' index 8 using 1:2 with points lt 3 pt 3 title 'ivf-postfilter'
unset multiplot
