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
     'recall-latency.dat' index 2 using 1:2 with points lt 3 pt 3 title 'ivf-postfilter', \
     'recall-latency.dat' index 3 using 1:2 with points lt 4 pt 4 title 'faiss-flat', \
     'recall-latency.dat' index 4 using 1:2 with points lt 5 pt 5 title 'faiss-ivf', \
     'recall-latency.dat' index 5 using 1:2 with points lt 6 pt 6 title 'pgvector-hnsw', \
     'recall-latency.dat' index 6 using 1:2 with points lt 7 pt 7 title 'pgvector-hnsw-strict', \
     'recall-latency.dat' index 7 using 1:2 with points lt 8 pt 8 title 'pgvector-hnsw-off', \
     'recall-latency.dat' index 8 using 1:2 with points lt 9 pt 9 title 'pgvector-ivfflat', \
     'recall-latency.dat' index 9 using 1:2 with points lt 10 pt 10 title 'pgvector-ivfflat-off', \
     'recall-latency.dat' index 10 using 1:2 with points lt 11 pt 11 title 'pgvector-ivfflat-planner'
set title 'selectivity 1% (100 queries)'
plot 'recall-latency.dat' index 11 using 1:2 with points lt 1 pt 1 title 'flat-metadata', \
     'recall-latency.dat' index 12 using 1:2 with points lt 2 pt 2 title 'flat-partition', \
     'recall-latency.dat' index 13 using 1:2 with points lt 3 pt 3 title 'ivf-postfilter', \
     'recall-latency.dat' index 14 using 1:2 with points lt 4 pt 4 title 'faiss-flat', \
     'recall-latency.dat' index 15 using 1:2 with points lt 5 pt 5 title 'faiss-ivf', \
     'recall-latency.dat' index 16 using 1:2 with points lt 6 pt 6 title 'pgvector-hnsw', \
     'recall-latency.dat' index 17 using 1:2 with points lt 7 pt 7 title 'pgvector-hnsw-strict', \
     'recall-latency.dat' index 18 using 1:2 with points lt 8 pt 8 title 'pgvector-hnsw-off', \
     'recall-latency.dat' index 19 using 1:2 with points lt 9 pt 9 title 'pgvector-ivfflat', \
     'recall-latency.dat' index 20 using 1:2 with points lt 10 pt 10 title 'pgvector-ivfflat-off', \
     'recall-latency.dat' index 21 using 1:2 with points lt 11 pt 11 title 'pgvector-ivfflat-planner'
set title 'selectivity 0.1% (100 queries)'
plot 'recall-latency.dat' index 22 using 1:2 with points lt 1 pt 1 title 'flat-metadata', \
     'recall-latency.dat' index 23 using 1:2 with points lt 2 pt 2 title 'flat-partition', \
     'recall-latency.dat' index 24 using 1:2 with points lt 3 pt 3 title 'ivf-postfilter', \
     'recall-latency.dat' index 25 using 1:2 with points lt 4 pt 4 title 'faiss-flat', \
     'recall-latency.dat' index 26 using 1:2 with points lt 5 pt 5 title 'faiss-ivf', \
     'recall-latency.dat' index 27 using 1:2 with points lt 6 pt 6 title 'pgvector-hnsw', \
     'recall-latency.dat' index 28 using 1:2 with points lt 7 pt 7 title 'pgvector-hnsw-strict', \
     'recall-latency.dat' index 29 using 1:2 with points lt 8 pt 8 title 'pgvector-hnsw-off', \
     'recall-latency.dat' index 30 using 1:2 with points lt 9 pt 9 title 'pgvector-ivfflat', \
     'recall-latency.dat' index 31 using 1:2 with points lt 10 pt 10 title 'pgvector-ivfflat-off', \
     'recall-latency.dat' index 32 using 1:2 with points lt 11 pt 11 title 'pgvector-ivfflat-planner'
unset multiplot
