# NIST StRD MGH09 (higher difficulty): y = b1*(x**2+x*b2) / (x**2+x*b3+b4) + e
# certified values, data and both starts: MGH09.json / MGH09.csv
param b1 = 25, b2 = 39, b3 = 41.5, b4 = 39    # NIST start 1
# NIST start 2: b1 = 0.25, b2 = 0.39, b3 = 0.415, b4 = 0.39
data x, y
model f = b1*(x^2 + x*b2)/(x^2 + x*b3 + b4)
loss sum((f - y)^2)
