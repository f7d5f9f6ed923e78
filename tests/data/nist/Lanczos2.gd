# NIST StRD Lanczos2 (average difficulty): y = b1*exp(-b2*x) + b3*exp(-b4*x) + b5*exp(-b6*x) + e
# certified values, data and both starts: Lanczos2.json / Lanczos2.csv
param b1 = 1.2, b2 = 0.3, b3 = 5.6, b4 = 5.5, b5 = 6.5, b6 = 7.6    # NIST start 1
# NIST start 2: b1 = 0.5, b2 = 0.7, b3 = 3.6, b4 = 4.2, b5 = 4, b6 = 6.3
data x, y
model f = b1*exp(-b2*x) + b3*exp(-b4*x) + b5*exp(-b6*x)
loss sum((f - y)^2)
