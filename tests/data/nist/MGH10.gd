# NIST StRD MGH10 (higher difficulty): y = b1 * exp[b2/(x+b3)] + e
# certified values, data and both starts: MGH10.json / MGH10.csv
param b1 = 2, b2 = 400000, b3 = 25000    # NIST start 1
# NIST start 2: b1 = 0.02, b2 = 4000, b3 = 250
data x, y
model f = b1*exp(b2/(x + b3))
loss sum((f - y)^2)
