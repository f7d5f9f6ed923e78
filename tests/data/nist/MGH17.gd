# NIST StRD MGH17 (average difficulty): y = b1 + b2*exp[-x*b4] + b3*exp[-x*b5] + e
# certified values, data and both starts: MGH17.json / MGH17.csv
param b1 = 50, b2 = 150, b3 = -100, b4 = 1, b5 = 2    # NIST start 1
# NIST start 2: b1 = 0.5, b2 = 1.5, b3 = -1, b4 = 0.01, b5 = 0.02
data x, y
model f = b1 + b2*exp(-x*b4) + b3*exp(-x*b5)
loss sum((f - y)^2)
