# NIST StRD Misra1d (average difficulty): y = b1*b2*x*((1+b2*x)**(-1)) + e
# certified values, data and both starts: Misra1d.json / Misra1d.csv
param b1 = 500, b2 = 0.0001    # NIST start 1
# NIST start 2: b1 = 450, b2 = 0.0003
data x, y
model f = b1*b2*x*(1 + b2*x)^(-1)
loss sum((f - y)^2)
